import Logging

/// The plugins of a server block, in CoreDNS's fixed plugin order (errors before log).
enum PluginFactory {
    static func plugins(for block: ServerBlockConfiguration, logger: Logger) -> [any QueryPlugin] {
        var plugins: [any QueryPlugin] = []
        if let errors = block.errors {
            if !errors.consolidations.isEmpty {
                logger.notice("errors: consolidate is not supported yet; every error is logged",
                              metadata: ["at": "\(block.location)"])
            }
            plugins.append(ErrorsPlugin(logger: logger))
        }
        if !block.log.isEmpty {
            plugins.append(QueryLogPlugin(block.log, logger: logger))
        }
        return plugins
    }
}
