import NIOCore

/// A step in a server block's chain (hosts, whoami, log...): answers a query or hands it to `next`.
public protocol QueryPlugin: Sendable {
    func handle(_ query: DNSMessage, context: QueryContext, next: any QueryHandler) -> EventLoopFuture<DNSMessage>
}

/// Plugins in order, then the terminal handler (the forwarder, or REFUSED when a block has none).
struct PluginChain: QueryHandler {
    private let plugin: any QueryPlugin
    private let next: any QueryHandler

    private init(plugin: any QueryPlugin, next: any QueryHandler) {
        self.plugin = plugin
        self.next = next
    }

    /// The chain as one handler; with no plugins, `terminal` itself.
    static func make(_ plugins: [any QueryPlugin], terminal: any QueryHandler) -> any QueryHandler {
        plugins.reversed().reduce(terminal) { next, plugin in PluginChain(plugin: plugin, next: next) }
    }

    func handle(_ query: DNSMessage, context: QueryContext) -> EventLoopFuture<DNSMessage> {
        plugin.handle(query, context: context, next: next)
    }
}

/// The end of a chain nothing answered: REFUSED, as for a zone nobody serves.
struct RefusingHandler: QueryHandler {
    func handle(_ query: DNSMessage, context: QueryContext) -> EventLoopFuture<DNSMessage> {
        context.eventLoop.makeSucceededFuture(query.errorReply(.refused))
    }
}
