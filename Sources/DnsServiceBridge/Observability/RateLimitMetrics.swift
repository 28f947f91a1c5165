import Metrics

/// The rate limits' metrics, copied from each `ratelimit` step before a scrape: `dnsgrpcd_ratelimit_limited_total`
/// (queries over their client's rate, by `action`), `dnsgrpcd_ratelimit_clients` (clients remembered) and
/// `dnsgrpcd_ratelimit_evictions_total` (clients forgotten to make room: a flood of sources shows here).
enum RateLimitMetrics {
    static func collect(_ limits: [RateLimitPlugin], into collectors: MetricsCollectors = .shared) {
        for limit in limits {
            let server = [("server", limit.metricsServer)]
            collectors.copy(limit.limited.load(ordering: .relaxed), from: limit, name: "limited",
                            into: Counter(label: "dnsgrpcd_ratelimit_limited_total",
                                          dimensions: server + [("action", limit.action.rawValue)]))
            collectors.copy(limit.table.evictions, from: limit, name: "evictions",
                            into: Counter(label: "dnsgrpcd_ratelimit_evictions_total", dimensions: server))
            Gauge(label: "dnsgrpcd_ratelimit_clients", dimensions: server).record(limit.table.count)
        }
    }
}
