import NIOCore

/// Who asked a query, as the engine's steps see it (whoami's address, log's client, the metrics' family). The
/// address is worked out only when a step asks: formatting one per query showed in profiles.
struct QueryClient: Sendable {
    private enum Source: Sendable {
        case socket(SocketAddress)
        case datagram(DatagramPeer)
        /// gRPC core's peer name (`ipv4:127.0.0.1:40000`).
        case peer(String)
        case unknown
    }

    let transport: ClientTransport
    private let source: Source

    init(transport: ClientTransport, address: SocketAddress?) {
        self.transport = transport
        source = address.map(Source.socket) ?? .unknown
    }

    init(transport: ClientTransport, datagram peer: DatagramPeer) {
        self.transport = transport
        source = .datagram(peer)
    }

    init(transport: ClientTransport, peer: String?) {
        self.transport = transport
        source = peer.map(Source.peer) ?? .unknown
    }

    /// The client's socket address, when its transport tells one.
    var address: SocketAddress? {
        switch source {
        case .socket(let address): address
        case .datagram(let peer): peer.socketAddress
        case .peer(let name): GRPCPeer.socketAddress(name)
        case .unknown: nil
        }
    }

    /// The client's IP address as a number, read without formatting it (the rate limit's key, per query; ECS;
    /// allow-lists); nil when the client has none (a unix-socket gRPC peer).
    var ip: ClientIP? {
        switch source {
        case .socket(let address): ClientIP(address)
        case .datagram(let peer): ClientIP(peer)
        // The slow reading only for a peer name the quick one does not know (an IPv6 zone written unescaped).
        case .peer(let name): GRPCPeer.clientIP(name) ?? GRPCPeer.socketAddress(name).flatMap(ClientIP.init)
        case .unknown: nil
        }
    }

    /// The client's IP address as text (`send_client_address`); nil when it has none.
    var addressText: String? { ip?.description }

    /// The client for logs: gRPC core's peer name, or the address.
    var name: String? {
        if case .peer(let name) = source { return name }
        return address?.description
    }

    /// Whether the client came over IPv6, for the `family` label of the metrics.
    var isIPv6: Bool {
        switch source {
        case .socket(let address): address.protocol == .inet6
        case .datagram(let peer): peer.isIPv6
        case .peer(let name): name.hasPrefix("ipv6:")
        case .unknown: false
        }
    }
}
