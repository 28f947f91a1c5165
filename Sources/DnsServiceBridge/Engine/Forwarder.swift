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
        // One set (the usual case) needs no filtered copy, which would be an allocation per query.
        let matching = sets.count == 1 ? (sets[0].matches(question.name) ? sets[...] : [])
            : sets.filter { $0.matches(question.name) }[...]
        guard !matching.isEmpty else {
            return context.eventLoop.makeSucceededFuture(query.errorReply(.refused))
        }
        return forward(query, name: question.name, through: matching, context: context)
    }

    /// The first set's reply, unless its `next`/`fallthrough` hands it to the following set (the last set's
    /// reply always goes to the client, as in CoreDNS where `next` needs another forwarder after it).
    private func forward(_ query: DNSMessage, name: DNSName, through sets: ArraySlice<UpstreamSet>,
                         context: QueryContext) -> EventLoopFuture<DNSMessage> {
        guard let set = sets.first else { return context.eventLoop.makeSucceededFuture(query.errorReply(.refused)) }
        let rest = sets.dropFirst()
        let reply = set.forward(query, context: context)
        guard !rest.isEmpty else { return reply }
        return reply.flatMap { [self] reply in
            set.handsOn(reply, for: name) ? forward(query, name: name, through: rest, context: context)
                : context.eventLoop.makeSucceededFuture(reply)
        }
    }

    /// Stops health checks and closes every upstream connection.
    public func stop() {
        sets.forEach { $0.stop() }
    }
}
