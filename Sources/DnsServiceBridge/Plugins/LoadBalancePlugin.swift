/// CoreDNS's `loadbalance [round_robin]`: in every NOERROR reply (zone transfers aside) each section's A and AAAA
/// records, and its MX records, come in a random order, so that clients that take the first address spread over
/// all of them. As CoreDNS orders a section: CNAMEs first, then the other records as they were, then the
/// addresses, then the MX records; an OPT record stays last, where EDNS's handling here expects it.
struct LoadBalancePlugin: QueryStep {
    func completed(_ query: DNSMessage, reply: DNSMessage, _ outcome: QueryOutcome) -> DNSMessage {
        guard reply.rcode == .noError, let type = reply.question?.type, type != .axfr, type != .ixfr,
              Self.hasSomethingToShuffle(reply), let sections = reply.movableRecords() else { return reply }
        let shuffled = ThreadRandom.with { random in sections.map { Self.shuffle($0, using: &random) } }
        return reply.withRecords(shuffled) ?? reply
    }

    /// CoreDNS's order of one section, with addresses and MX records each in a random order.
    static func shuffle(_ records: [DNSMessage.MovableRecord], using random: inout some RandomNumberGenerator)
        -> [DNSMessage.MovableRecord] {
        var cnames: [DNSMessage.MovableRecord] = [], rest = cnames, addresses = cnames, exchanges = cnames
        var opt = cnames
        for record in records {
            switch record.type {
            case .cname: cnames.append(record)
            case .a, .aaaa: addresses.append(record)
            case .mx: exchanges.append(record)
            case .opt: opt.append(record)
            default: rest.append(record)
            }
        }
        addresses.shuffle(using: &random)
        exchanges.shuffle(using: &random)
        return cnames + rest + addresses + exchanges + opt
    }

    /// Whether the reply holds two records or more besides OPT: fewer have no order to change (a single answer,
    /// the usual case, costs nothing).
    private static func hasSomethingToShuffle(_ reply: DNSMessage) -> Bool {
        let header = reply.header
        return Int(header.answerCount) + Int(header.authorityCount) + Int(header.additionalCount)
            - (reply.edns == nil ? 0 : 1) > 1
    }
}
