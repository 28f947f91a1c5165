import NIOCore

/// One listener's server blocks: a query goes to the block whose zone is the most specific match for its
/// name (CoreDNS's rule); a name no block serves is REFUSED. Every answered query is counted in the
/// listener's `coredns_dns_*` metrics under its block's zone (`dropped` when no block serves it).
final class ZoneRouter: QueryHandler {
    struct Route: Sendable {
        let zone: DNSName
        /// For CIDR keys that are not on an octet (nibble) boundary: only names inside the network.
        let network: ReverseNetwork?
        let handler: any QueryHandler
        /// The zone as the metrics' `zone` label shows it; kept, since formatting it cost a String per query.
        let zoneLabel: String

        init(zone: DNSName, network: ReverseNetwork?, handler: any QueryHandler) {
            self.zone = zone
            self.network = network
            self.handler = handler
            zoneLabel = zone.description
        }
    }

    private let routes: [Route]
    private let metrics: ServerMetrics?

    init(routes: [Route], metrics: ServerMetrics? = nil) {
        self.metrics = metrics
        self.routes = routes.enumerated().sorted { lhs, rhs in
            lhs.element.zone.labelCount != rhs.element.zone.labelCount
                ? lhs.element.zone.labelCount > rhs.element.zone.labelCount
                : lhs.offset < rhs.offset
        }.map(\.element)
    }

    func handle(_ query: DNSMessage, context: QueryContext) -> EventLoopFuture<DNSMessage> {
        guard let metrics else { return route(query, context: context).reply }
        let started = NIODeadline.now()
        let (zone, reply) = route(query, context: context)
        reply.whenSuccess { reply in
            metrics.record(zone: zone, query: query, reply: reply, context: context, duration: .now() - started)
        }
        return reply
    }

    private func route(_ query: DNSMessage, context: QueryContext) -> (zone: String, reply: EventLoopFuture<DNSMessage>) {
        guard let name = query.question?.name else {
            return ("dropped", context.eventLoop.makeSucceededFuture(query.errorReply(.formErr)))
        }
        for route in routes where name.isSubdomain(of: route.zone) {
            if let network = route.network, !network.contains(reverseName: name.description) { continue }
            return (route.zoneLabel, route.handler.handle(query, context: context))
        }
        return ("dropped", context.eventLoop.makeSucceededFuture(query.errorReply(.refused)))
    }
}
