import NIOCore

/// The engine of one listener, the one decision every frontend calls: the in-flight gate (REFUSED once shutdown
/// began, so clients move on at once), the block whose zone is the most specific match for the name (CoreDNS's
/// rule; REFUSED when none, FORMERR without a question), that block's steps, and a walk for what it forwards. A
/// query answered here is done; a forwarded one comes back to `finish` with its reply, whichever lane carried it.
/// Every query is counted in the listener's `coredns_dns_*` metrics under its block's zone (`dropped` for none).
final class ListenerEngine: Sendable {
    struct Route: Sendable {
        let zone: DNSName
        /// For CIDR keys that are not on an octet (nibble) boundary: only names inside the network.
        let network: ReverseNetwork?
        let block: ServerBlockEngine
        /// The zone as the metrics' `zone` label shows it; kept, since formatting it cost a String per query.
        let zoneLabel: String

        init(zone: DNSName, network: ReverseNetwork?, block: ServerBlockEngine) {
            self.zone = zone
            self.network = network
            self.block = block
            zoneLabel = zone.description
        }
    }

    /// A query on its way to an upstream: its walk, and what `finish` needs once the walk is over.
    struct Forwarded: Sendable {
        var walk: ForwardWalk
        /// The block's route, by its index in `routes` (an index, not a copy: a forwarded query is kept and moved
        /// with its walk, and its size showed as copying in profiles).
        let routeIndex: Int
        let received: NIODeadline
        /// Identical misses wait for this query's reply (`MissCoalescer`).
        var leads = false

        var query: DNSMessage { walk.query }
        /// Who asked: the walk's client, kept once.
        var client: QueryClient { walk.client }
    }

    enum Decision {
        /// The reply for the client; the query is done.
        case answer(DNSMessage)
        /// To forward: start the walk, drive it, then `finish`.
        case forward(Forwarded)
        /// The same question is on its way upstream for another client: the reply comes through the follower.
        case follow(MissCoalescer.Follower)
        /// A step dropped the query (`ratelimit { action drop }`): nothing is sent to a UDP or TCP client; a gRPC
        /// call ends with RESOURCE_EXHAUSTED, a DoH request with 429.
        case drop
    }

    let routes: [Route]
    let metrics: ServerMetrics
    let inFlight: InFlightQueries

    init(routes: [Route], metrics: ServerMetrics, inFlight: InFlightQueries) {
        self.metrics = metrics
        self.inFlight = inFlight
        self.routes = routes.enumerated().sorted { lhs, rhs in
            lhs.element.zone.labelCount != rhs.element.zone.labelCount
                ? lhs.element.zone.labelCount > rhs.element.zone.labelCount
                : lhs.offset < rhs.offset
        }.map(\.element)
    }

    /// Every upstream set of the listener's blocks.
    var sets: [UpstreamSet] { routes.flatMap { $0.block.forwarder?.sets ?? [] } }

    func decide(_ query: DNSMessage, from client: QueryClient, now: NIODeadline = .now()) -> Decision {
        guard inFlight.enter() else { return .answer(query.errorReply(.refused)) }
        guard let name = query.question?.name else {
            return .answer(done(query, query.errorReply(.formErr), zone: "dropped", client: client, received: now))
        }
        guard let routeIndex = routes.firstIndex(where: { route in
            name.isSubdomain(of: route.zone) && route.network.map { $0.contains(reverseName: name.description) } ?? true
        }) else {
            return .answer(done(query, query.errorReply(.refused), zone: "dropped", client: client, received: now))
        }
        let route = routes[routeIndex]
        switch route.block.decide(query, from: client) {
        case .answer(let reply, let passed):
            let outcome = QueryOutcome(client: client, received: now, failure: nil)
            let final = route.block.completed(query, reply: reply, passed: passed, outcome)
            return .answer(done(query, final, zone: route.zoneLabel, client: client, received: now))
        case .forward(let walk):
            var forwarded = Forwarded(walk: walk, routeIndex: routeIndex, received: now)
            if let cache = route.block.cache, let key = cache.coalescingKey(query) {
                switch cache.coalescer.join(key, query: query, client: client, received: now) {
                case .leader: forwarded.leads = true
                case .follower(let follower): return .follow(follower)
                }
            }
            return .forward(forwarded)
        case .drop(let passed):
            route.block.dropped(query, passed: passed, QueryOutcome(client: client, received: now, failure: nil))
            metrics.recordDropped(zone: route.zoneLabel, query: query, transport: client.transport,
                                  isIPv6: client.isIPv6, duration: .now() - now)
            inFlight.leave()
            return .drop
        }
    }

    /// The reply for the client once a forwarded query's walk is over (`reply` is its answer).
    func finish(_ forwarded: Forwarded, reply: DNSMessage) -> DNSMessage {
        let outcome = QueryOutcome(client: forwarded.client, received: forwarded.received,
                                   failure: forwarded.walk.failure)
        let route = routes[forwarded.routeIndex]
        let final = route.block.completed(forwarded.query, reply: reply, passed: route.block.forwardedPassed, outcome)
        if forwarded.leads { answerFollowers(of: forwarded, with: reply) }
        return done(forwarded.query, final, zone: route.zoneLabel, client: forwarded.client,
                    received: forwarded.received)
    }

    /// The queries that waited for `forwarded`'s reply: each gets it with its own ID and question, through its own
    /// steps (log, cache) and metrics, as if it had been forwarded itself.
    private func answerFollowers(of forwarded: Forwarded, with reply: DNSMessage) {
        let route = routes[forwarded.routeIndex]
        guard let cache = route.block.cache, let key = cache.coalescingKey(forwarded.query) else { return }
        for waiter in cache.coalescer.release(key) {
            let outcome = QueryOutcome(client: waiter.client, received: waiter.received,
                                       failure: forwarded.walk.failure)
            let final = route.block.completed(waiter.query, reply: reply.answering(waiter.query),
                                              passed: route.block.forwardedPassed, outcome)
            waiter.follower.answer(done(waiter.query, final, zone: route.zoneLabel, client: waiter.client,
                                        received: waiter.received))
        }
    }

    /// Ends a forwarded query that gets no reply: its worker stopped past the shutdown grace, or its client gave up
    /// (a cancelled gRPC call). Its upstream exchange is let go uncounted, as CoreDNS lets go one whose context ended.
    func abandon(_ forwarded: Forwarded) {
        var walk = forwarded.walk
        walk.abandon()
        inFlight.leave()
        // Whoever waited for it gets SERVFAIL rather than waiting for ever.
        if forwarded.leads { answerFollowers(of: forwarded, with: forwarded.query.errorReply(.servFail)) }
    }

    private func done(_ query: DNSMessage, _ reply: DNSMessage, zone: String, client: QueryClient,
                      received: NIODeadline) -> DNSMessage {
        let reply = reply.mirroringEDNS(of: query)
        metrics.record(zone: zone, query: query, reply: reply, transport: client.transport, isIPv6: client.isIPv6,
                       duration: .now() - received)
        inFlight.leave()
        return reply
    }
}

/// Frontends on event loops (TCP, DoT, and gRPC without a worker) call the engine through futures: the decision
/// as every frontend makes it, and the walk driven by `ForwardAttempt`.
extension ListenerEngine: QueryHandler {
    func handle(_ query: DNSMessage, context: QueryContext) -> EventLoopFuture<DNSMessage> {
        let client = context.asker
        switch decide(query, from: client) {
        case .answer(let reply):
            return context.eventLoop.makeSucceededFuture(reply)
        case .forward(let forwarded):
            return ForwardAttempt.run(forwarded.walk, context: context).map { [self] walk, reply in
                var forwarded = forwarded
                forwarded.walk = walk
                return finish(forwarded, reply: reply)
            }
        case .follow(let follower):
            let promise = context.eventLoop.makePromise(of: DNSMessage.self)
            follower.whenAnswered { promise.succeed($0) }
            return promise.futureResult
        case .drop:
            return context.eventLoop.makeFailedFuture(QueryDropped())
        }
    }
}
