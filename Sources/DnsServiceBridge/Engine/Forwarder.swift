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
        guard let walk = walk(query, client: context.asker) else {
            let rcode: DNSResponseCode = query.question == nil ? .formErr : .refused
            return context.eventLoop.makeSucceededFuture(query.errorReply(rcode))
        }
        return ForwardAttempt.run(walk, context: context).map(\.reply)
    }

    /// The walk of `query` through the sets that serve its name; nil when none does (or it has no question).
    func walk(_ query: DNSMessage, client: QueryClient) -> ForwardWalk? {
        guard let name = query.question?.name else { return nil }
        // One set (the usual case) needs no filtered copy, which would be an allocation per query.
        let matching = sets.count == 1 ? (sets[0].matches(name) ? sets[...] : [])
            : sets.filter { $0.matches(name) }[...]
        guard !matching.isEmpty else { return nil }
        return ForwardWalk(query: query, sets: matching, client: client)
    }

    /// Stops health checks and closes every upstream connection.
    public func stop() {
        sets.forEach { $0.stop() }
    }
}
