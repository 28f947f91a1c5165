import NIOCore

/// What a frontend on an event loop hands queries to: the listener's engine (`ListenerEngine`).
public protocol QueryHandler: Sendable {
    /// The reply for the client; the future never fails and completes on the context's event loop.
    func handle(_ query: DNSMessage, context: QueryContext) -> EventLoopFuture<DNSMessage>
}
