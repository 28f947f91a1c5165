import Metrics
import NIOCore
import Synchronization

/// The forwarder's metrics under CoreDNS's current names, through swift-metrics: `coredns_forward_*` for
/// `forward` (and `proxy`) sets, `coredns_grpc_*` for `grpc` sets, as CoreDNS's plugin/pkg/proxy names them
/// per plugin. Labelled handles are cached so the hot path does one dictionary lookup under a lock instead of
/// a factory call.
public final class ForwardMetrics: Sendable {
    /// The plugin whose names the metrics carry (`forward` or `grpc`).
    public let plugin: String
    private let requests = LabelledCache<Counter>()
    private let responses = LabelledCache<Counter>()
    private let durations = LabelledCache<Timer>()
    private let healthFailures = LabelledCache<Counter>()
    // CoreDNS has these two for forward only; grpc sets count under the same names.
    private let brokenCounter = Counter(label: "coredns_forward_healthcheck_broken_total")
    private let rejectsCounter = Counter(label: "coredns_forward_max_concurrent_rejects_total")

    /// Metrics named after `plugin`: "grpc" for grpc sets, anything else counts as "forward".
    public init(plugin: String) {
        self.plugin = plugin == "grpc" ? "grpc" : "forward"
    }

    func requestSent(to upstream: String) {
        requests.get([upstream]) { [plugin] in
            Counter(label: "coredns_\(plugin)_requests_total", dimensions: [("to", upstream)])
        }.increment()
    }

    func responseReceived(from upstream: String, rcode: DNSResponseCode, duration: TimeAmount) {
        let code = rcode.description
        responses.get([upstream, code]) { [plugin] in
            Counter(label: "coredns_\(plugin)_responses_total", dimensions: [("rcode", code), ("to", upstream)])
        }.increment()
        // The grpc plugin's histogram has no rcode label.
        let durationKey = plugin == "grpc" ? [upstream] : [upstream, code]
        durations.get(durationKey) { [plugin] in
            Timer(label: "coredns_\(plugin)_request_duration_seconds",
                  dimensions: plugin == "grpc" ? [("to", upstream)] : [("to", upstream), ("rcode", code)],
                  preferredDisplayUnit: .seconds)
        }.recordNanoseconds(duration.nanoseconds)
    }

    func healthCheckFailed(for upstream: String) {
        healthFailures.get([upstream]) { [plugin] in
            Counter(label: "coredns_\(plugin)_healthcheck_failures_total", dimensions: [("to", upstream)])
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
