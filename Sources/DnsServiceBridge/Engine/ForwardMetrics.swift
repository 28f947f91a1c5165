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
    private let brokenCounter = Counter(label: "coredns_forward_healthcheck_broken_total")
    private let rejectsCounter = Counter(label: "coredns_forward_max_concurrent_rejects_total")

    public init(proxyName: String) {
        self.proxyName = proxyName
    }

    func requestSent(to upstream: String) {
        requests.get([upstream]) {
            Counter(label: "coredns_forward_requests_total", dimensions: [("to", upstream)])
        }.increment()
    }

    func responseReceived(from upstream: String, rcode: DNSResponseCode, duration: TimeAmount) {
        let code = rcode.description
        responses.get([upstream, code]) {
            Counter(label: "coredns_forward_responses_total", dimensions: [("to", upstream), ("rcode", code)])
        }.increment()
        durations.get([upstream, code]) { [proxyName] in
            Timer(label: "coredns_proxy_request_duration_seconds",
                  dimensions: [("proxy_name", proxyName), ("to", upstream), ("rcode", code)],
                  preferredDisplayUnit: .seconds)
        }.recordNanoseconds(duration.nanoseconds)
    }

    func healthCheckFailed(for upstream: String) {
        healthFailures.get([upstream]) { [proxyName] in
            Counter(label: "coredns_proxy_healthcheck_failures_total",
                    dimensions: [("proxy_name", proxyName), ("to", upstream)])
        }.increment()
    }

    func allUpstreamsDown() { brokenCounter.increment() }

    func maxConcurrentRejected() { rejectsCounter.increment() }
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
