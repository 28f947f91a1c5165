import NIOCore

/// One listener's server blocks: a query goes to the block whose zone is the most specific match for its
/// name (CoreDNS's rule); a name no block serves is REFUSED.
final class ZoneRouter: QueryHandler {
    struct Route: Sendable {
        let zone: DNSName
        /// For CIDR keys that are not on an octet (nibble) boundary: only names inside the network.
        let network: ReverseNetwork?
        let handler: any QueryHandler
    }

    private let routes: [Route]

    init(routes: [Route]) {
        self.routes = routes.enumerated().sorted { lhs, rhs in
            lhs.element.zone.labelCount != rhs.element.zone.labelCount
                ? lhs.element.zone.labelCount > rhs.element.zone.labelCount
                : lhs.offset < rhs.offset
        }.map(\.element)
    }

    func handle(_ query: DNSMessage, context: QueryContext) -> EventLoopFuture<DNSMessage> {
        guard let name = query.question?.name else {
            return context.eventLoop.makeSucceededFuture(query.errorReply(.formErr))
        }
        for route in routes where name.isSubdomain(of: route.zone) {
            if let network = route.network, !network.contains(reverseName: name.description) { continue }
            return route.handler.handle(query, context: context)
        }
        return context.eventLoop.makeSucceededFuture(query.errorReply(.refused))
    }
}
