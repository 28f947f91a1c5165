import Logging

/// The plugins of a server block, in CoreDNS's fixed plugin order.
enum PluginFactory {
    static func plugins(for block: ServerBlockConfiguration, logger: Logger) -> [any QueryPlugin] {
        []
    }
}
