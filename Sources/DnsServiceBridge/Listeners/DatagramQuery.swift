/// What a UDP listener does with one datagram, the same on NIO's path and the relay's: forward the query, answer
/// FORMERR (a header that parses, a body that does not), or drop it (not a DNS query, or a response). Counted.
enum DatagramQuery {
    case query(DNSMessage)
    case formErr(DNSMessage)
    case drop

    init(_ bytes: [UInt8], counters: ListenerCounters) {
        do {
            let query = try DNSMessage(bytes: bytes)
            guard !query.header.isResponse else {
                counters.droppedUDP.add(1, ordering: .relaxed)
                self = .drop
                return
            }
            self = .query(query)
        } catch {
            guard let formErr = DNSMessage.errorReply(toUnparsed: bytes, rcode: .formErr) else {
                counters.droppedUDP.add(1, ordering: .relaxed)
                self = .drop
                return
            }
            counters.formErrReplies.add(1, ordering: .relaxed)
            self = .formErr(formErr)
        }
    }
}
