import NIOCore

/// Where a query came from and where its reply is due: the listener's side of one forwarded query.
public struct QueryContext: Sendable {
    /// The client's address, for logs and metrics (nil when the transport does not expose it).
    public var client: String?
    /// The client's socket address, for plugins that answer with it (whoami); nil for gRPC clients.
    public var clientAddress: SocketAddress?
    public var transport: ClientTransport
    /// The event loop the reply future completes on.
    public var eventLoop: any EventLoop
    /// Where the forwarder notes why it failed, when an `errors` plugin asked (nil otherwise).
    public var failure: QueryFailureNote?

    public init(client: String?, transport: ClientTransport, eventLoop: any EventLoop,
                clientAddress: SocketAddress? = nil) {
        self.client = client
        self.clientAddress = clientAddress
        self.transport = transport
        self.eventLoop = eventLoop
        self.failure = nil
    }
}
