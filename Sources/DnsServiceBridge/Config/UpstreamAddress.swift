/// One upstream a forwarder sends queries to.
public struct UpstreamAddress: Sendable, Hashable, CustomStringConvertible {
    /// dns, tls or grpc.
    public var transport: UpstreamTransport
    /// An IP address without brackets (`9.9.9.9`, `2620:fe::fe`, `fe80::1%eth0`).
    public var host: String
    /// The port, 1 to 65535.
    public var port: Int
    /// The TLS server name for this upstream alone (`tls://9.9.9.9#dns.quad9.net`); nil uses the forwarder's
    /// `tls_servername`, if any.
    public var tlsServerName: String?
    /// DoH: the path of the requests (`https://9.9.9.9/dns-query`); nil for the default, `/dns-query`.
    public var path: String?

    /// gRPC: a target gRPC core resolves and connects itself (`unix:/run/d.sock`, `dns:///name:443`); nil for an
    /// IP address. `host` and `port` then only describe it (the socket path, or the name and its port).
    public var resolverTarget: String?

    /// The path DoH requests go to.
    public var dohPath: String { path ?? DoHRequest.path }

    /// Creates an upstream.
    public init(transport: UpstreamTransport = .dns, host: String, port: Int? = nil, tlsServerName: String? = nil,
                path: String? = nil, resolverTarget: String? = nil) {
        self.transport = transport
        self.host = host
        self.port = port ?? transport.defaultPort
        self.tlsServerName = tlsServerName
        self.path = path
        self.resolverTarget = resolverTarget
    }

    /// `host:port`, with brackets around an IPv6 host: what to connect to.
    public var hostPort: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The `to` label CoreDNS uses in metrics and logs: `1.2.3.4:53`, `tls://9.9.9.9:853`, `grpc://[::1]:443`.
    public var description: String {
        if let resolverTarget { return "\(transport)://\(resolverTarget)" }
        return transport == .dns ? hostPort : "\(transport)://\(hostPort)\(path ?? "")"
    }

    /// What gRPC core connects to: the resolver target, or `host:port`.
    public var grpcTarget: String { resolverTarget ?? hostPort }
}
