import Logging

/// The plugins of a server block, in CoreDNS's fixed plugin order (errors before log).
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
        return plugins
    }
}
