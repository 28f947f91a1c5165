/// One socket address a set of server blocks shares: scheme, bind host and port.
struct ListenerKey: Hashable, Sendable, CustomStringConvertible {
    let scheme: ListenScheme
    let host: String
    let port: Int

    /// The host to bind: all interfaces (IPv6 and, dual-stack, IPv4) when the block has no `bind`.
    var bindHost: String { host.isEmpty ? "::" : host }

    /// A gRPC listener on a unix-domain socket: its path.
    var unixPath: String? { host.hasPrefix("unix:") ? String(host.dropFirst(5)) : nil }

    /// `HOST:PORT` (or `unix:PATH`) as gRPC core takes it.
    var grpcAddress: String {
        if unixPath != nil { return host }
        return bindHost.contains(":") ? "[\(bindHost)]:\(port)" : "\(bindHost):\(port)"
    }

    /// The `server` label of CoreDNS's metrics: `dns://:53`, `dns://127.0.0.1:53`, `grpc://[::1]:443`.
    var metricsLabel: String {
        if unixPath != nil { return "\(scheme)://\(host)" }
        return "\(scheme)://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    var description: String {
        if unixPath != nil { return "\(scheme)://\(host)" }
        return "\(scheme)://\(host.isEmpty ? "*" : host):\(port)"
    }
}
