import NIOCore

/// What the UDP relay needs from one `dns://` or `grpc://` listener's configuration, when it can serve it: one server
/// block whose only query handler is `forward` with one upstream set, on `multiplex_udp`, over plain DNS. The
/// relay answers those queries itself; everything else goes to `handler`, the listener's ordinary chain.
struct UDPRelayPlan: Sendable {
    /// One upstream of the set, with what the relay's own sockets to it need.
    struct Target: Sendable {
        let upstream: Upstream
        let address: SocketAddress
        let counters: TransportCounters
        let expire: TimeAmount
    }

    let zone: DNSName
    let zoneLabel: String
    let set: UpstreamSet
    let targets: [Target]
    /// The listener's whole chain (gate, router, forwarder): queries the relay does not take, with their metrics.
    let handler: any QueryHandler
    let metrics: ServerMetrics
    let inFlight: InFlightQueries
    /// Loops for the engine's work on queries the relay hands over.
    let group: any EventLoopGroup

    /// The most upstreams the relay serves (sockets one thread watches stay under `DatagramReadiness.maxSockets`).
    static let maxTargets = 16

    /// nil when the relay cannot serve these routes as the engine would: more than one block or set, plugins in
    /// front of the forwarder, `max_concurrent`, `force_tcp`, upstreams that are not plain DNS, or no
    /// `multiplex_udp` (the default takes a pooled socket per exchange, as CoreDNS does, on the NIO path).
    init?(routes: [ZoneRouter.Route], handler: any QueryHandler, metrics: ServerMetrics, inFlight: InFlightQueries,
          group: any EventLoopGroup) {
        guard routes.count == 1, let route = routes.first, route.network == nil,
              let forwarder = route.handler as? Forwarder, forwarder.sets.count == 1, let set = forwarder.sets.first,
              set.options.multiplexUDP, !set.options.forceTCP, set.options.maxConcurrent == 0,
              !set.upstreams.isEmpty, set.upstreams.count <= Self.maxTargets else { return nil }
        var targets: [Target] = []
        for upstream in set.upstreams {
            guard let dns = upstream.transport as? DNSUpstreamTransport else { return nil }
            targets.append(Target(upstream: upstream, address: dns.address, counters: dns.counters,
                                  expire: dns.expire))
        }
        zone = route.zone
        zoneLabel = route.zoneLabel
        self.set = set
        self.targets = targets
        self.handler = handler
        self.metrics = metrics
        self.inFlight = inFlight
        self.group = group
    }

    /// How many relays: one per event loop, as NIO has a UDP channel per loop (a relay thread each for `dns://`, a
    /// completion queue each for gRPC).
    var threads: Int { group.loopCount }

    /// Whether the relay forwards `name` itself (inside the block's zone and the set's `FROM`, not `except`).
    func forwards(_ name: DNSName) -> Bool {
        name.isSubdomain(of: zone) && set.matches(name)
    }
}
