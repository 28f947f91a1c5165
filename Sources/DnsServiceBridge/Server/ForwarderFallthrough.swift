import NIOCore

/// The forwarders of a block followed by plugins that come after them in CoreDNS's order (whoami): a name no
/// upstream set serves goes on to them, as CoreDNS's forward hands such names to the next plugin.
struct ForwarderFallthrough: QueryHandler {
    let forwarder: Forwarder
    let next: any QueryHandler

    func handle(_ query: DNSMessage, context: QueryContext) -> EventLoopFuture<DNSMessage> {
        guard let name = query.question?.name, !forwarder.sets.contains(where: { $0.matches(name) }) else {
            return forwarder.handle(query, context: context)
        }
        return next.handle(query, context: context)
    }
}
