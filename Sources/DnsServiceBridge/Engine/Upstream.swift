import Logging
import NIOCore
import Synchronization

/// One configured upstream: its transport, health and load, inside one upstream set.
public final class Upstream: Sendable, LoadBalanced {
    public let transport: any UpstreamExchanger
    let health: UpstreamHealth
    /// Relative share for the weighted policy.
    public let weight: Int
    private let inFlightCount = Atomic<Int>(0)
    private let latencyAverage = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    /// The transport's dropped-reply count already added to the metric.
    private let droppedReported = Atomic<Int>(0)
    private let answered = Atomic<Bool>(false)
    private let options: ForwardOptions
    private let metrics: ForwardMetrics
    private let exchangeMetrics: UpstreamMetrics
    private let logger: Logger
    private let group: any EventLoopGroup

    init(transport: any UpstreamExchanger, weight: Int, options: ForwardOptions, metrics: ForwardMetrics,
         group: any EventLoopGroup, logger: Logger) {
        self.transport = transport
        self.group = group
        self.weight = weight
        self.options = options
        self.metrics = metrics
        self.logger = logger
        health = UpstreamHealth(maxFails: options.maxFails, failTimeout: options.failTimeout)
        let label = transport.label
        let metricsLabel = label.firstRange(of: "://").map { String(label[$0.upperBound...]) } ?? label
        self.metricsLabel = metricsLabel
        exchangeMetrics = metrics.upstream(metricsLabel)
        udpTarget = (transport as? DNSUpstreamTransport)?.laneTarget
    }

    public var label: String { transport.label }
    /// The lane a worker sends this upstream's UDP exchanges on; nil for upstreams that are not plain DNS.
    let udpTarget: UDPLane.Target?
    /// The `to` label of metrics: `HOST:PORT` without the transport's scheme, as CoreDNS labels upstreams.
    public let metricsLabel: String
    public var isDown: Bool { health.isDown }
    /// Whether the upstream has answered anything since start (readiness).
    public var hasAnswered: Bool { answered.load(ordering: .relaxed) }
    /// Queries being exchanged with this upstream now (least_conn).
    public var inFlight: Int { inFlightCount.load(ordering: .relaxed) }

    /// A moving average of the exchanges' durations in nanoseconds (the last eight or so weigh most), failures
    /// counted at the time they took; 0 until the first exchange ended (least_outstanding, metrics).
    public var latency: Int { latencyAverage.load(ordering: .relaxed) }

    /// Folds one exchange's duration into `latency`. Concurrent updates may lose one another's sample, which an
    /// average over many does not miss.
    private func recordLatency(_ duration: TimeAmount) {
        let sample = Int(duration.nanoseconds)
        let average = latencyAverage.load(ordering: .relaxed)
        latencyAverage.store(average == 0 ? sample : average + (sample - average) / 8, ordering: .relaxed)
    }

    /// Counts an exchange in flight from `now` (least_conn, metrics); returns the start that `exchangeEnded` takes.
    /// Only `ForwardWalk` calls these, for every lane alike.
    func exchangeStarted(now: NIODeadline = .now()) -> NIODeadline {
        inFlightCount.add(1, ordering: .relaxed)
        exchangeMetrics.requestSent()
        return now
    }

    /// Ends what `exchangeStarted` began: metrics, readiness, and health checking after a failure.
    func exchangeEnded(_ result: Result<DNSMessage, any Error>, startedAt started: NIODeadline,
                       now: NIODeadline = .now()) {
        inFlightCount.subtract(1, ordering: .relaxed)
        recordLatency(now - started)
        reportDroppedReplies()
        switch result {
        case .success(let reply):
            if !answered.load(ordering: .relaxed) { answered.store(true, ordering: .relaxed) }
            exchangeMetrics.responseReceived(rcode: reply.rcode, duration: now - started)
        case .failure(let error):
            logger.debug("exchange failed", metadata: ["upstream": "\(label)", "error": "\(error)"])
            if health.exchangeFailed() { scheduleHealthCheck(after: .zero) }
        }
    }

    /// Ends what `exchangeStarted` began without an outcome (the relay stopped with the exchange in flight).
    func exchangeAbandoned() {
        inFlightCount.subtract(1, ordering: .relaxed)
    }

    /// Moves the transport's count of dropped (mismatched) replies into the metric.
    private func reportDroppedReplies() {
        let total = transport.droppedReplies
        // A plain load in the usual case: nothing was dropped since the last exchange.
        guard total != droppedReported.load(ordering: .relaxed) else { return }
        let reported = droppedReported.exchange(total, ordering: .relaxed)
        for _ in 0..<max(0, total - reported) { metrics.replyDropped(from: metricsLabel) }
    }

    /// CoreDNS's in-band check: `. IN NS` (or the configured name) over the upstream's own transport, every
    /// interval until any reply arrives; each failure counts towards `max_fails`.
    private func scheduleHealthCheck(after delay: TimeAmount) {
        guard !stopped.load(ordering: .relaxed) else {
            health.stopChecking()
            return
        }
        group.any().scheduleTask(in: delay) { [self] in
            // Looked at again when the task runs: a task that outlived `stop()` (it may run while the event loops
            // shut down) must not start an exchange whose reply nothing can take any more.
            guard !stopped.load(ordering: .relaxed) else { return }
            let query = DNSMessage.query(name: options.healthCheckName, type: .ns,
                                         id: UInt16.random(in: .min ... .max),
                                         recursionDesired: options.healthCheckRecursionDesired)
            let proto: ExchangeProtocol = options.forceTCP ? .tcp : .udp
            let deadline = NIODeadline.now() + min(options.exchangeTimeout, options.healthCheckInterval * 2)
            transport.exchange(query, over: proto, deadline: deadline).whenComplete { [self] result in
                let healthy = (try? result.get()) != nil
                if healthy { answered.store(true, ordering: .relaxed) }
                if !healthy { metrics.healthCheckFailed(for: metricsLabel) }
                if health.checked(healthy: healthy) {
                    scheduleHealthCheck(after: options.healthCheckInterval)
                } else {
                    logger.info("upstream healthy again", metadata: ["upstream": "\(label)"])
                }
            }
        }
    }

    /// For readiness: asks the health-check question until the upstream answers once (or the upstream stops),
    /// so that readiness never waits on client traffic. Each probe waits as long as a client's query may (the
    /// request deadline, 5 s by default): a slow upstream that answers client queries in time makes the set
    /// ready too, where the health check's short deadline would never hear it. Unlike health checks, these
    /// failures do not count towards `max_fails`.
    func probeUntilAnswered(after delay: TimeAmount = .zero) {
        guard !stopped.load(ordering: .relaxed), !hasAnswered else { return }
        group.any().scheduleTask(in: delay) { [self] in
            // Looked at again when the task runs: a task that outlived `stop()` (it may run while the event loops
            // shut down) must not start an exchange whose reply nothing can take any more.
            guard !stopped.load(ordering: .relaxed) else { return }
            let query = DNSMessage.query(name: options.healthCheckName, type: .ns,
                                         id: UInt16.random(in: .min ... .max),
                                         recursionDesired: options.healthCheckRecursionDesired)
            let proto: ExchangeProtocol = options.forceTCP ? .tcp : .udp
            let deadline = NIODeadline.now() + options.requestTimeout
            transport.exchange(query, over: proto, deadline: deadline).whenComplete { [self] result in
                if (try? result.get()) != nil {
                    answered.store(true, ordering: .relaxed)
                } else {
                    probeUntilAnswered(after: max(options.healthCheckInterval, .milliseconds(100)))
                }
            }
        }
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        transport.close()
    }
}
