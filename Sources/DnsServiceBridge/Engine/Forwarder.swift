import Logging
import NIOCore

/// The engine every listener hands its queries to: picks the upstream set whose zone matches most
/// specifically and forwards; a name no set serves is REFUSED. Listeners never see upstreams.
public final class Forwarder: Sendable {
    public let sets: [UpstreamSet]

    /// `sets` in any order; the most specific zone wins, and among equal zones the first listed.
    public init(sets: [UpstreamSet]) {
        self.sets = sets.enumerated().sorted { lhs, rhs in
            lhs.element.zone.labelCount != rhs.element.zone.labelCount
                ? lhs.element.zone.labelCount > rhs.element.zone.labelCount
                : lhs.offset < rhs.offset
        }.map(\.element)
    }

    /// The reply for the client; this future never fails.
    public func forward(_ query: DNSMessage, context: QueryContext) -> EventLoopFuture<DNSMessage> {
        guard let question = query.question else {
            return context.eventLoop.makeSucceededFuture(query.errorReply(.formErr))
        }
        guard let set = sets.first(where: { $0.matches(question.name) }) else {
            return context.eventLoop.makeSucceededFuture(query.errorReply(.refused))
        }
        return set.forward(query, context: context)
    }

    /// Stops health checks and closes every upstream connection.
    public func stop() {
        sets.forEach { $0.stop() }
    }
}
