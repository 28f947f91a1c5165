import Logging
import NIOCore

/// CoreDNS's `errors`: logs why a query ended in SERVFAIL (the last upstream error, or the reason the
/// forwarder gave up), as `plugin/errors: 2 NAME TYPE: REASON`.
struct ErrorsPlugin: QueryPlugin {
    let logger: Logger

    func handle(_ query: DNSMessage, context: QueryContext, next: any QueryHandler) -> EventLoopFuture<DNSMessage> {
        let note = QueryFailureNote()
        var context = context
        context.failure = note
        return next.handle(query, context: context).map { [logger] reply in
            if reply.rcode == .servFail, let reason = note.reason {
                let name = query.question.map { "\($0.name) \($0.type)" } ?? "-"
                logger.error("plugin/errors: \(reply.rcode.rawValue) \(name): \(reason)")
            }
            return reply
        }
    }
}
