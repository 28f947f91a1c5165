import Logging

/// The plugins of a server block, in CoreDNS's fixed plugin order (plugin.cfg): `errors`, `log`, `cache` and
/// `hosts` run before the forwarders, `whoami` after them (it answers what no forwarder serves).
enum PluginFactory {
    static func plugins(for block: ServerBlockConfiguration, logger: Logger) throws(StartupError)
        -> [any QueryPlugin] {
        var plugins: [any QueryPlugin] = []
        if let errors = block.errors {
            do {
                plugins.append(ErrorsPlugin(consolidator: try ErrorConsolidator(errors.consolidations, logger: logger)))
            } catch {
                throw StartupError(at: block.location, "\(error)")
            }
        }
        if !block.log.isEmpty {
            plugins.append(QueryLogPlugin(block.log, logger: logger))
        }
        if let cache = block.cache { plugins.append(CachePlugin(cache)) }
        if let hosts = block.hosts { plugins.append(HostsPlugin(hosts, logger: logger)) }
        return plugins
    }

    /// The plugins that come after forward/grpc/proxy in CoreDNS's order.
    static func pluginsAfterForwarders(for block: ServerBlockConfiguration, logger: Logger) -> [any QueryPlugin] {
        block.whoami ? [WhoamiPlugin()] : []
    }
}
