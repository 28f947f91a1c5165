import Logging
import NIOCore

/// CoreDNS's `errors`: logs why a query ended in SERVFAIL (the last upstream error, or the reason the
/// forwarder gave up), as `plugin/errors: 2 NAME TYPE: REASON`, through the block's consolidate rules.
struct ErrorsPlugin: QueryPlugin {
    let consolidator: ErrorConsolidator

    func handle(_ query: DNSMessage, context: QueryContext, next: any QueryHandler) -> EventLoopFuture<DNSMessage> {
        let note = QueryFailureNote()
        var context = context
        context.failure = note
        let loop = context.eventLoop
        return next.handle(query, context: context).map { [consolidator] reply in
            if reply.rcode == .servFail, let reason = note.reason {
                let name = query.question.map { "\($0.name) \($0.type)" } ?? "-"
                consolidator.report("plugin/errors: \(reply.rcode.rawValue) \(name): \(reason)",
                                    on: loop)
            }
            return reply
        }
    }
}
