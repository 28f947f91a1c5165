import NIOCore

/// One upstream's `requests_total`, `responses_total` and `request_duration_seconds` (made by
/// `ForwardMetrics.upstream(_:)`), counted in the `QueryMetricsStore` with no lock.
final class UpstreamMetrics: Sendable {
    private let store: QueryMetricsStore
    private let labels: QueryMetricsStore.LabelSet

    init(store: QueryMetricsStore, labels: QueryMetricsStore.LabelSet) {
        self.store = store
        self.labels = labels
    }

    func requestSent() { store.series(.request(upstream: labels)).count.add(1) }

    func responseReceived(rcode: DNSResponseCode, duration: TimeAmount) {
        let series = store.series(.response(upstream: labels, rcode: rcode.rawValue))
        series.count.add(1)
        series.duration.observe(Int(duration.nanoseconds), bounds: QueryMetricsStore.durationBounds)
    }
}
