import NIOCore

/// Where a query came from and where its reply is due: the listener's side of one forwarded query.
public struct QueryContext: Sendable {
    /// The client as its transport names it (a gRPC peer such as `ipv4:127.0.0.1:40000`); nil when the
    /// socket address says it.
    private var clientName: String?
    /// The client, for logs (nil when the transport does not expose it). Formatted on demand: formatting a
    /// socket address for every query showed up in profiles, and only the query log needs the text.
    public var client: String? { clientName ?? clientAddress?.description }
    /// Whether the client came over IPv6, for the `family` label of the metrics.
    public var isIPv6Client: Bool {
        if let socketAddress { return socketAddress.protocol == .inet6 }
        return clientName?.hasPrefix("ipv6:") == true
    }
    /// The client's socket address, for plugins that answer with it (whoami). For a gRPC client it is read from
    /// the peer name when asked: parsing it for every call cost the completion-queue thread 3% in profiles.
    public var clientAddress: SocketAddress? {
        get { socketAddress ?? clientName.flatMap(GRPCPeer.socketAddress) }
        set { socketAddress = newValue }
    }
    private var socketAddress: SocketAddress?
    public var transport: ClientTransport
    /// The event loop the reply future completes on.
    public var eventLoop: any EventLoop
    /// Where the forwarder notes why it failed, when an `errors` plugin asked (nil otherwise).
    public var failure: QueryFailureNote?

    public init(client: String?, transport: ClientTransport, eventLoop: any EventLoop,
                clientAddress: SocketAddress? = nil) {
        self.clientName = client
        self.socketAddress = clientAddress
        self.transport = transport
        self.eventLoop = eventLoop
        self.failure = nil
    }
}
