import Logging
import NIOCore

/// The plugins of a server block, in CoreDNS's fixed plugin order (plugin.cfg): `errors`, `log`, `ratelimit` (where
/// CoreDNS puts `acl`: after the log, before any work), `loadbalance`, `cache`, `hosts` and `loop` run before the
/// forwarders, `whoami` after them (it answers what no forwarder serves).
enum PluginFactory {
    static func plugins(for block: ServerBlockConfiguration, forwarder: Forwarder?, group: any EventLoopGroup,
                        logger: Logger) throws(StartupError) -> [any QueryStep] {
        var plugins: [any QueryStep] = []
        if let errors = block.errors {
            do {
                plugins.append(ErrorsPlugin(consolidator: try ErrorConsolidator(errors.consolidations, logger: logger),
                                            group: group))
            } catch {
                throw StartupError(at: block.location, "\(error)")
            }
        }
        if !block.log.isEmpty {
            plugins.append(QueryLogPlugin(block.log, logger: logger))
        }
        if let rateLimit = block.rateLimit {
            plugins.append(RateLimitPlugin(rateLimit, metricsServer: metricsServer(of: block)))
        }
        if block.loadBalance { plugins.append(LoadBalancePlugin()) }
        if let cache = block.cache {
            plugins.append(CachePlugin(cache, refresher: forwarder.map { CacheRefresher(forwarder: $0, group: group) },
                                       metricsServer: metricsServer(of: block)))
        }
        if let hosts = block.hosts { plugins.append(HostsPlugin(hosts, logger: logger)) }
        if block.loop, let key = block.keys.first {
            // CoreDNS probes the first listener of the block, with the zone of its first key.
            let host = block.listenHosts.first.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
            let hostPort = host.contains(":") ? "[\(host)]:\(key.port)" : "\(host):\(key.port)"
            if let zone = try? DNSName(key.zone) {
                let address = key.unixPath.map { "grpc://unix:" + $0 }
                    ?? (key.scheme == .grpc ? "grpc://" + hostPort : hostPort)
                plugins.append(LoopPlugin(zone: zone, address: address,
                                          logger: logger))
            }
        }
        return plugins
    }

    /// The `server` label of a block's plugin metrics: its first listener, as CoreDNS labels the server that
    /// handles the request (`dns://:53`).
    static func metricsServer(of block: ServerBlockConfiguration) -> String {
        guard let key = block.keys.first else { return "" }
        return ListenerKey(scheme: key.scheme, host: block.listenHosts(for: key).first ?? "", port: key.port).metricsLabel
    }

    /// The plugins that come after forward/grpc/proxy in CoreDNS's order.
    static func pluginsAfterForwarders(for block: ServerBlockConfiguration) -> [any QueryStep] {
        block.whoami ? [WhoamiPlugin()] : []
    }
}
