import NIOCore

/// What a listener hands queries to: the forwarder, or a chain of plugins in front of it.
public protocol QueryHandler: Sendable {
    /// The reply for the client; the future never fails and completes on the context's event loop.
    func handle(_ query: DNSMessage, context: QueryContext) -> EventLoopFuture<DNSMessage>
}

extension Forwarder: QueryHandler {
    public func handle(_ query: DNSMessage, context: QueryContext) -> EventLoopFuture<DNSMessage> {
        forward(query, context: context)
    }
}
