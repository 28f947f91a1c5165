import Metrics
import Prometheus
import Synchronization

/// The process's Prometheus registry behind swift-metrics: every `Counter`, `Timer` and `Recorder` the engine
/// makes lands here once `bootstrap()` ran, with CoreDNS's histogram buckets.
public enum PrometheusMetrics {
    /// CoreDNS's `plugin.TimeBuckets`: 0.25ms doubling up to about 8s.
    public static let timeBuckets: [Duration] = (0..<16).map { exponent in
        .nanoseconds(250_000 << exponent)
    }
    /// CoreDNS's buckets for request and response sizes, in bytes.
    public static let sizeBuckets: [Double] = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16e3, 32e3, 48e3,
                                               64e3]

    private static let shared = Mutex<PrometheusCollectorRegistry?>(nil)

    /// The registry metrics go to: made and installed as swift-metrics' backend on first use. swift-metrics
    /// can be bootstrapped once per process, so every later call returns the same registry.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        shared.withLock { shared in
            if let registry = shared { return registry }
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            factory.defaultDurationHistogramBuckets = timeBuckets
            factory.defaultValueHistogramBuckets = sizeBuckets
            MetricsSystem.bootstrap(factory)
            shared = registry
            return registry
        }
    }

    /// The registry if `bootstrap()` ran.
    public static var registry: PrometheusCollectorRegistry? {
        shared.withLock { $0 }
    }
}
