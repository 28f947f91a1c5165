import Metrics
import NIOCore
import Synchronization

/// The forwarder's metrics under CoreDNS's current names: `coredns_forward_*` for `forward` (and `proxy`) sets,
/// `coredns_grpc_*` for `grpc` sets, as CoreDNS's plugin/pkg/proxy names them per plugin. Those of every exchange
/// are counted in the `QueryMetricsStore` (no lock on the query path); the rare ones (health checks, spraying,
/// refusals, dropped replies) go through swift-metrics, their labelled handles cached.
public final class ForwardMetrics: Sendable {
    /// The plugin whose names the metrics carry (`forward` or `grpc`).
    public let plugin: String
    private let healthFailures = LabelledCache<Counter>()
    private let dropped = LabelledCache<Counter>()
    // CoreDNS has these two for forward only; grpc sets count under the same names.
    private let brokenCounter: Counter
    private let rejectsCounter: Counter
    private let factory: any MetricsFactory
    /// Where the per-exchange metrics are counted.
    let store: QueryMetricsStore

    /// Metrics named after `plugin`: "grpc" for grpc sets, anything else counts as "forward".
    /// - Parameters:
    ///   - factory: where the other handles come from; the process-wide backend unless a test passes its own.
    ///   - store: where the per-exchange metrics are counted; the process-wide one unless a test passes its own.
    init(plugin: String, factory: any MetricsFactory = MetricsSystem.factory, store: QueryMetricsStore = .shared) {
        self.plugin = plugin == "grpc" ? "grpc" : "forward"
        self.factory = factory
        self.store = store
        brokenCounter = Counter(label: "coredns_forward_healthcheck_broken_total", factory: factory)
        rejectsCounter = Counter(label: "coredns_forward_max_concurrent_rejects_total", factory: factory)
    }

    /// The per-exchange metrics of one upstream, its `to` label bound once.
    func upstream(_ upstream: String) -> UpstreamMetrics {
        UpstreamMetrics(store: store, labels: store.labels([plugin, upstream]))
    }

    func healthCheckFailed(for upstream: String) {
        healthFailures.get(LabelValues(upstream)) { [plugin, factory] in
            Counter(label: "coredns_\(plugin)_healthcheck_failures_total", dimensions: [("to", upstream)],
                    factory: factory)
        }.increment()
    }

    /// Every upstream was down, so one was sprayed at random (or SERVFAIL with failfast).
    func allUpstreamsDown() { brokenCounter.increment() }

    /// A query was REFUSED because `max_concurrent` queries were already in flight.
    func maxConcurrentRejected() { rejectsCounter.increment() }

    /// A reply that did not match its query (ID, question or garbage) was dropped; beyond CoreDNS, which has
    /// no such metric, so spoofing attempts are visible.
    func replyDropped(from upstream: String) {
        dropped.get(LabelValues(upstream)) { [plugin, factory] in
            Counter(label: "dnsgrpcd_forward_dropped_replies_total",
                    dimensions: [("plugin", plugin), ("to", upstream)], factory: factory)
        }.increment()
    }
}

/// Metric handles by label values, created once.
typealias LabelledCache<Handle: Sendable> = HandleCache<LabelValues, Handle>

/// Metric handles created once per key, under a lock; the key is whatever identifies the labels cheapest.
final class HandleCache<Key: Hashable & Sendable, Handle: Sendable>: Sendable {
    private let handles = Mutex<[Key: Handle]>([:])

    func get(_ key: Key, make: () -> Handle) -> Handle {
        handles.withLock { handles in
            if let handle = handles[key] { return handle }
            let handle = make()
            handles[key] = handle
            return handle
        }
    }
}

/// Up to five label values as a key: a struct, not an array, so looking a handle up allocates nothing (an array
/// key per query showed in allocation profiles).
struct LabelValues: Hashable, Sendable {
    let values: (String, String, String, String, String)

    init(_ first: String, _ second: String = "", _ third: String = "", _ fourth: String = "", _ fifth: String = "") {
        values = (first, second, third, fourth, fifth)
    }

    static func == (lhs: LabelValues, rhs: LabelValues) -> Bool { lhs.values == rhs.values }

    func hash(into hasher: inout Hasher) {
        hasher.combine(values.0)
        hasher.combine(values.1)
        hasher.combine(values.2)
        hasher.combine(values.3)
        hasher.combine(values.4)
    }
}
