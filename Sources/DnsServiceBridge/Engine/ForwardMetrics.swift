import Metrics
import NIOCore
import Synchronization

/// The forwarder's metrics under CoreDNS's names, through swift-metrics. Labelled handles are cached so the
/// hot path does one dictionary lookup under a lock instead of a factory call.
public final class ForwardMetrics: Sendable {
    /// The plugin name in CoreDNS's `coredns_proxy_*` metrics (`forward` or `grpc`).
    public let proxyName: String
    private let requests = LabelledCache<Counter>()
    private let responses = LabelledCache<Counter>()
    private let durations = LabelledCache<Timer>()
    private let healthFailures = LabelledCache<Counter>()
    private let dropped = LabelledCache<Counter>()
    private let brokenCounter: Counter
    private let rejectsCounter: Counter
    private let factory: any MetricsFactory

    /// - Parameter factory: where the handles come from; the process-wide backend unless a test passes its own.
    public init(proxyName: String, factory: any MetricsFactory = MetricsSystem.factory) {
        self.proxyName = proxyName
        self.factory = factory
        brokenCounter = Counter(label: "coredns_forward_healthcheck_broken_total", factory: factory)
        rejectsCounter = Counter(label: "coredns_forward_max_concurrent_rejects_total", factory: factory)
    }

    func requestSent(to upstream: String) {
        requests.get([upstream]) { [factory] in
            Counter(label: "coredns_forward_requests_total", dimensions: [("to", upstream)], factory: factory)
        }.increment()
    }

    func responseReceived(from upstream: String, rcode: DNSResponseCode, duration: TimeAmount) {
        let code = rcode.description
        responses.get([upstream, code]) { [factory] in
            Counter(label: "coredns_forward_responses_total", dimensions: [("to", upstream), ("rcode", code)],
                    factory: factory)
        }.increment()
        durations.get([upstream, code]) { [proxyName, factory] in
            Timer(label: "coredns_proxy_request_duration_seconds",
                  dimensions: [("proxy_name", proxyName), ("to", upstream), ("rcode", code)],
                  preferredDisplayUnit: .seconds, factory: factory)
        }.recordNanoseconds(duration.nanoseconds)
    }

    func healthCheckFailed(for upstream: String) {
        healthFailures.get([upstream]) { [proxyName, factory] in
            Counter(label: "coredns_proxy_healthcheck_failures_total",
                    dimensions: [("proxy_name", proxyName), ("to", upstream)], factory: factory)
        }.increment()
    }

    /// Every upstream was down and one was picked at random (spraying), or the query failed fast.
    func allUpstreamsDown() { brokenCounter.increment() }

    /// A query was REFUSED because `max_concurrent` queries were already in flight.
    func maxConcurrentRejected() { rejectsCounter.increment() }

    /// A reply that did not match its query (ID, question or garbage) was dropped; beyond CoreDNS, which has
    /// no such metric, so spoofing attempts are visible.
    func replyDropped(from upstream: String) {
        dropped.get([upstream]) { [proxyName, factory] in
            Counter(label: "dnsgrpcd_forward_dropped_replies_total",
                    dimensions: [("proxy_name", proxyName), ("to", upstream)], factory: factory)
        }.increment()
    }
}

/// Metric handles by label values, created once.
final class LabelledCache<Handle: Sendable>: Sendable {
    private let handles = Mutex<[[String]: Handle]>([:])

    func get(_ key: [String], make: () -> Handle) -> Handle {
        handles.withLock { handles in
            if let handle = handles[key] { return handle }
            let handle = make()
            handles[key] = handle
            return handle
        }
    }
}
