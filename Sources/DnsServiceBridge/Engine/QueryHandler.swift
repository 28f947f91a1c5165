import NIOCore

/// What a frontend on an event loop hands queries to: the listener's engine (`ListenerEngine`).
public protocol QueryHandler: Sendable {
    /// The reply for the client, on the context's event loop; the future fails only with `QueryDropped`, when no
    /// reply is due.
    func handle(_ query: DNSMessage, context: QueryContext) -> EventLoopFuture<DNSMessage>
}

/// A query a step dropped (`ratelimit { action drop }`): the client gets no DNS reply.
public struct QueryDropped: Error, Sendable {}
