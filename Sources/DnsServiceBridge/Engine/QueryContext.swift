import NIOCore

/// Where a query came from and where its reply is due: the listener's side of one query answered through futures.
public struct QueryContext: Sendable {
    /// Who asked, as the engine's steps see it.
    let asker: QueryClient
    /// The client, for logs (nil when the transport does not expose it).
    public var client: String? { asker.name }
    /// Whether the client came over IPv6, for the `family` label of the metrics.
    public var isIPv6Client: Bool { asker.isIPv6 }
    /// The client's socket address, for plugins that answer with it (whoami).
    public var clientAddress: SocketAddress? { asker.address }
    public var transport: ClientTransport { asker.transport }
    /// The event loop the reply future completes on.
    public var eventLoop: any EventLoop

    /// `client` is a gRPC peer name (`ipv4:127.0.0.1:40000`) when the transport names the client so; otherwise
    /// `clientAddress` says who it is.
    public init(client: String?, transport: ClientTransport, eventLoop: any EventLoop,
                clientAddress: SocketAddress? = nil) {
        asker = clientAddress.map { QueryClient(transport: transport, address: $0) }
            ?? QueryClient(transport: transport, peer: client)
        self.eventLoop = eventLoop
    }
}
