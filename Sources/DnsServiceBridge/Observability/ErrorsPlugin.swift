import NIOCore

/// CoreDNS's `errors`: logs why a query ended in SERVFAIL (the last upstream error, or the reason the
/// forwarder gave up), as `plugin/errors: 2 NAME TYPE: REASON`, through the block's consolidate rules.
struct ErrorsPlugin: QueryStep {
    let consolidator: ErrorConsolidator
    /// Where the consolidator's end-of-period summaries are scheduled.
    let group: any EventLoopGroup

    func completed(_ query: DNSMessage, reply: DNSMessage, _ outcome: QueryOutcome) -> DNSMessage {
        if reply.rcode == .servFail, let reason = outcome.failure {
            let name = query.question.map { "\($0.name) \($0.type)" } ?? "-"
            consolidator.report("plugin/errors: \(reply.rcode.rawValue) \(name): \(reason)", on: group.any())
        }
        return reply
    }
}
