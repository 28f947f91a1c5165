/// Refuses two different servers on one TCP port and address: a DNS listener's TCP side, a DNS-over-TLS or gRPC
/// listener, or a `prometheus`/`health`/`ready` endpoint. Listeners bind with SO_REUSEPORT, so two of them on
/// one port would not fail: the kernel would share the connections between them, and half the clients would
/// speak to the wrong server. Checked with the Corefile, so start-up, `-validate` and a reload all stop with the
/// FILE:LINE of the second server.
struct PortClashCheck {
    /// One TCP server: what it is (`dns`, `grpc`, `/metrics` at an address) and its socket.
    private struct Server {
        var what: String
        var host: String
        var port: Int
        var location: SourceLocation
    }

    private var servers: [Server] = []

    mutating func register(_ block: ServerBlockConfiguration) throws(ConfigurationError) {
        for key in block.keys {
            for host in block.listenHosts(for: key) {
                try add(Server(what: "\(key.scheme)://\(host.isEmpty ? "*" : host):\(key.port)", host: host,
                               port: key.port, location: block.location))
            }
        }
        let endpoints: [(String, String?)] = [
            ("prometheus", block.prometheus?.address),
            ("health", block.health?.address),
            ("ready", block.ready?.address),
        ]
        for case let (directive, address?) in endpoints {
            guard let (host, port) = OperationsEndpoints.split(address) else { continue }
            try add(Server(what: "\(directive) \(address)", host: host, port: port, location: block.location))
        }
    }

    private mutating func add(_ server: Server) throws(ConfigurationError) {
        // Port 0 takes a free port; endpoints named by the same address share one HTTP server, as do keys of one
        // scheme (one listener serves every zone on it).
        guard server.port != 0 else { return }
        if let other = servers.first(where: { clash($0, server) }) {
            throw ConfigurationError(
                at: server.location, "\(server.what) uses the TCP port of \(other.what) at \(other.location)",
                expected: "a port of its own for each listener and endpoint")
        }
        servers.append(server)
    }

    private func clash(_ a: Server, _ b: Server) -> Bool {
        guard a.port == b.port, Self.overlap(a.host, b.host) else { return false }
        return Self.kind(a.what) != Self.kind(b.what)
    }

    /// Servers of the same kind on one socket are one server: `dns://` keys share a listener, endpoint
    /// directives naming the very same address share an HTTP server.
    private static func kind(_ what: String) -> String {
        if let scheme = what.firstRange(of: "://") { return String(what[..<scheme.lowerBound]) }
        return "http " + (what.split(separator: " ").last.map(String.init) ?? what)
    }

    /// Whether two bind hosts can take the same connection: every address overlaps all, `localhost` overlaps
    /// the loopback addresses.
    private static func overlap(_ a: String, _ b: String) -> Bool {
        if a.isEmpty || b.isEmpty || a == b { return true }
        func loopback(_ host: String) -> Bool { host == "localhost" || host.hasPrefix("127.") || host == "::1" }
        return (a == "localhost" && loopback(b)) || (b == "localhost" && loopback(a))
    }
}
