import NIOCore

/// One forwarded query's way through the upstream sets that serve its name, as CoreDNS's forward walks it in
/// `ServeDNS`, written once and driven by every frontend and lane: the policy's order, skipping upstreams that are
/// down, the next one after any failure, one at random when all are down (or SERVFAIL with failfast), another round
/// while the deadline allows if an upstream merely timed out, a truncated UDP answer asked again over TCP of the same
/// upstream, `max_concurrent`, and `next`/`fallthrough` handing the reply on to the following set.
///
/// A value: the driver keeps it with the query while an exchange is in flight (in a lane's ID table, or a
/// future's callback), reports the outcome, and does what the returned step says. The walk does the upstreams'
/// bookkeeping (in flight, metrics, health) itself, so no lane or driver repeats it.
struct ForwardWalk: Sendable {
    /// What the driver does next.
    enum Step: Sendable {
        /// Exchange the query with `upstream` over `proto` until `deadline`, then report `replied` or `failed`.
        case exchange(Upstream, ExchangeProtocol, deadline: NIODeadline)
        /// The walk is over: the reply for the client (the upstream's, or SERVFAIL/REFUSED made here).
        case answer(DNSMessage)
    }

    /// The client's query, as the reply and the steps see it.
    let query: DNSMessage
    /// What the current set's mesh options make of the query; nil (the usual case, and one word in a walk that is
    /// moved with every exchange) without them.
    private var forUpstream: UpstreamQuery?
    let client: QueryClient
    var transport: ClientTransport { client.transport }
    /// The matching sets still ahead; the first is the one being walked.
    private var sets: ArraySlice<UpstreamSet>
    private var order: [Upstream] = []
    private var deadline = NIODeadline.uptimeNanoseconds(0)
    private var index = 0
    private var downSkipped = 0
    /// Whether an exchange of this round timed out (a slow upstream may answer a second try; one that refused
    /// will not).
    private var sawTimeout = false
    private var holdsConcurrencySlot = false
    /// The exchange in flight.
    private var current: (upstream: Upstream, proto: ExchangeProtocol, started: NIODeadline)?
    /// Why the walk failed (the last upstream error or the reason it gave up), for the `errors` plugin.
    private(set) var failure: String?

    /// What goes to the current set's upstreams: the query, with the client's subnet (`client_subnet`).
    var outgoing: DNSMessage { forUpstream?.message ?? query }
    /// The client's address for the current set's gRPC upstreams (`send_client_address`).
    var clientAddressText: String? { forUpstream?.clientAddress }

    /// The walk of `query` through `sets` (the matching ones, most specific first) for `client`.
    init(query: DNSMessage, sets: ArraySlice<UpstreamSet>, client: QueryClient) {
        self.query = query
        self.sets = sets
        self.client = client
    }

    /// The walk for a client known only by its transport.
    init(query: DNSMessage, sets: ArraySlice<UpstreamSet>, transport: ClientTransport) {
        self.init(query: query, sets: sets, client: QueryClient(transport: transport, peer: nil))
    }

    /// The first step; REFUSED when no set serves the name.
    mutating func start(now: NIODeadline = .now()) -> Step {
        guard let set = sets.first else { return .answer(query.errorReply(.refused)) }
        if set.options.maxConcurrent > 0 {
            guard set.enterConcurrent() else {
                set.metrics.maxConcurrentRejected()
                return finish(query.errorReply(.refused), now: now)
            }
            holdsConcurrencySlot = true
        }
        forUpstream = UpstreamQuery(query, from: client, options: set.options)
        order = set.ordering.order(set.upstreams)
        deadline = now + set.options.requestTimeout
        index = 0
        downSkipped = 0
        sawTimeout = false
        return next(now: now)
    }

    /// The exchange in flight answered.
    mutating func replied(_ reply: DNSMessage, now: NIODeadline = .now()) -> Step {
        guard let (upstream, proto, started) = current, let set = sets.first else { return .answer(reply) }
        current = nil
        upstream.exchangeEnded(.success(reply), startedAt: started, now: now)
        // A truncated UDP answer goes back as is to a UDP client (it retries over TCP itself); for every other
        // client, or under prefer_udp, it is asked again over TCP of the same upstream.
        if reply.header.isTruncated, proto == .udp, !transport.isSizeLimited || set.options.preferUDP {
            return exchange(with: upstream, over: .tcp, now: now)
        }
        return finish(reply, now: now)
    }

    /// The exchange in flight failed (timeout, refused, closed, a bad reply): the next upstream.
    mutating func failed(_ error: any Error, now: NIODeadline = .now()) -> Step {
        guard let (upstream, _, started) = current else { return .answer(query.errorReply(.servFail)) }
        current = nil
        upstream.exchangeEnded(.failure(error), startedAt: started, now: now)
        failure = "\(error)"
        if case .timeout = error as? ExchangeError { sawTimeout = true }
        return next(now: now)
    }

    /// Ends a walk that will get no reply (its worker stops, or its client gave up): nothing stays counted in flight.
    mutating func abandon() {
        if let current { current.upstream.exchangeAbandoned() }
        current = nil
        releaseConcurrencySlot()
    }

    private mutating func next(now: NIODeadline) -> Step {
        guard let set = sets.first else { return .answer(query.errorReply(.servFail)) }
        while true {
            guard now < deadline else { return servfail("the request deadline passed", now: now) }
            if index >= order.count {
                guard sawTimeout else { return servfail("every upstream failed", now: now) }
                index = 0
                downSkipped = 0
                sawTimeout = false
            }
            let upstream = order[index]
            index += 1
            if upstream.isDown {
                downSkipped += 1
                if downSkipped < order.count { continue }
                // Every upstream is down: health checking itself may be what failed, so spray one at random.
                set.metrics.allUpstreamsDown()
                if set.options.failFastWhenAllDown { return servfail("every upstream is down", now: now) }
                index = order.count
                return exchange(with: order.randomElement() ?? upstream, over: firstProtocol(set.options), now: now)
            }
            return exchange(with: upstream, over: firstProtocol(set.options), now: now)
        }
    }

    /// The protocol for this client, as CoreDNS picks it; gRPC clients have no size limit, so they start on UDP
    /// and move to TCP on TC, like `prefer_udp`.
    private func firstProtocol(_ options: ForwardOptions) -> ExchangeProtocol {
        if options.forceTCP { return .tcp }
        if options.preferUDP { return .udp }
        switch transport {
        case .udp, .grpc: return .udp
        case .tcp, .tls, .https: return .tcp
        }
    }

    private mutating func exchange(with upstream: Upstream, over proto: ExchangeProtocol, now: NIODeadline) -> Step {
        let exchangeTimeout = sets.first?.options.exchangeTimeout ?? .seconds(2)
        current = (upstream, proto, upstream.exchangeStarted(now: now))
        return .exchange(upstream, proto, deadline: min(deadline, now + exchangeTimeout))
    }

    private mutating func servfail(_ reason: String, now: NIODeadline) -> Step {
        // The last upstream error says more than "every upstream failed"; keep it when there is one.
        if failure == nil || reason != "every upstream failed" { failure = reason }
        return finish(query.errorReply(.servFail), now: now)
    }

    /// The set's reply: to the client, or on to the next set when `next`/`fallthrough` says so (the last set's
    /// reply always goes to the client, as in CoreDNS where `next` needs another forwarder after it).
    private mutating func finish(_ reply: DNSMessage, now: NIODeadline) -> Step {
        releaseConcurrencySlot()
        guard let set = sets.first, sets.count > 1, let name = query.question?.name,
              set.handsOn(reply, for: name) else { return .answer(reply) }
        sets = sets.dropFirst()
        return start(now: now)
    }

    private mutating func releaseConcurrencySlot() {
        guard holdsConcurrencySlot else { return }
        holdsConcurrencySlot = false
        sets.first?.leaveConcurrent()
    }
}

/// A query as a set with `client_subnet` or `send_client_address` sends it: boxed, so that walks without those
/// options (nearly all) stay small.
final class UpstreamQuery: Sendable {
    let message: DNSMessage
    let clientAddress: String?

    /// Nil when `options` changes nothing.
    init?(_ query: DNSMessage, from client: QueryClient, options: ForwardOptions) {
        guard options.clientSubnet != nil || options.sendClientAddress else { return nil }
        message = options.clientSubnet.map { query.withClientSubnet(of: client.ip, $0) } ?? query
        clientAddress = options.sendClientAddress ? client.addressText : nil
    }
}
