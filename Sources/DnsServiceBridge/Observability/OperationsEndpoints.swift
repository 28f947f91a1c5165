import Logging
import NIOCore

/// The HTTP endpoints of the `prometheus`, `health` and `ready` directives. Directives naming the same address
/// share one server; they outlive server instances, so a reload keeps them bound.
public final class OperationsEndpoints: Sendable {
    private let servers: [OperationsHTTPServer]
    /// What is listening, for logs: `http://localhost:9153/metrics`.
    public let listening: [String]
    /// The longest `lameduck` of the `health` directives (zero without one).
    public let lameDuck: Duration

    private init(servers: [OperationsHTTPServer], listening: [String], lameDuck: Duration) {
        self.servers = servers
        self.listening = listening
        self.lameDuck = lameDuck
    }

    /// Binds every endpoint the configuration asks for; on any failure, what was bound is closed.
    public static func start(_ configuration: Configuration, state: ServiceState, group: any EventLoopGroup,
                             logger: Logger) async throws(StartupError) -> OperationsEndpoints {
        var routesByAddress: [String: [String: OperationsHTTPServer.Route]] = [:]
        var order: [String] = []
        var lameDuck = Duration.zero
        func add(_ path: String, at address: String, _ route: @escaping OperationsHTTPServer.Route) {
            if routesByAddress[address] == nil { order.append(address) }
            routesByAddress[address, default: [:]][path] = route
        }
        for block in configuration.servers {
            if let prometheus = block.prometheus {
                let registry = PrometheusMetrics.bootstrap()
                add("/metrics", at: prometheus.address) {
                    MetricsCollectors.shared.collect()
                    return OperationsHTTPResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                                  body: registry.emitToBuffer()
                                                      + Array(QueryMetricsText.render(.shared).utf8))
                }
            }
            if let health = block.health {
                lameDuck = max(lameDuck, health.lameduck)
                // As CoreDNS: OK for as long as the process runs, lame duck included.
                add("/health", at: health.address) { .text(.ok, "OK") }
            }
            if let ready = block.ready {
                add("/ready", at: ready.address) {
                    state.isReady ? .text(.ok, "OK") : .text(.serviceUnavailable, "not ready")
                }
            }
        }
        var servers: [OperationsHTTPServer] = []
        var listening: [String] = []
        for address in order {
            guard let (host, port) = split(address) else {
                for server in servers { await server.close() }
                throw StartupError(at: nil, "bad operations address '\(address)'; expected HOST:PORT or :PORT")
            }
            let routes = routesByAddress[address] ?? [:]
            do {
                servers.append(try await OperationsHTTPServer.bind(host: host, port: port, routes: routes,
                                                                   group: group))
            } catch {
                for server in servers { await server.close() }
                throw StartupError(at: nil, "cannot listen on \(address) for \(routes.keys.sorted().joined(separator: ", ")): \(error)")
            }
            for path in routes.keys.sorted() { listening.append("http://\(address)\(path)") }
        }
        if !servers.isEmpty {
            logger.debug("operations endpoints bound", metadata: ["endpoints": "\(listening)"])
        }
        return OperationsEndpoints(servers: servers, listening: listening, lameDuck: lameDuck)
    }

    /// `HOST:PORT`, `[V6]:PORT` or `:PORT` as the Corefile parser accepted it.
    static func split(_ address: String) -> (host: String, port: Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    /// Stops listening.
    public func close() async {
        for server in servers { await server.close() }
    }
}
