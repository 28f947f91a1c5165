import Metrics

/// CoreDNS's cache metrics, with its names and labels (`server`, `type`, `zones`, `view`; `view` is always empty):
/// copied from each cache's counters before a scrape.
enum CacheMetrics {
    static func collect(_ caches: [CachePlugin], into collectors: MetricsCollectors = .shared) {
        for cache in caches {
            let counters = cache.store.counters
            let labels = [("server", cache.metricsServer), ("zones", cache.metricsZones), ("view", "")]
            func typed(_ type: String) -> [(String, String)] {
                [("server", cache.metricsServer), ("type", type), ("zones", cache.metricsZones), ("view", "")]
            }
            let entries = cache.store.entries
            Gauge(label: "coredns_cache_entries", dimensions: typed("success")).record(entries.success)
            Gauge(label: "coredns_cache_entries", dimensions: typed("denial")).record(entries.denial)
            let plain: [(String, Int)] = [
                ("coredns_cache_requests_total", counters.requests.load(ordering: .relaxed)),
                ("coredns_cache_misses_total", counters.misses.load(ordering: .relaxed)),
                ("coredns_cache_prefetch_total", counters.prefetches.load(ordering: .relaxed)),
                ("coredns_cache_drops_total", counters.drops.load(ordering: .relaxed)),
                ("coredns_cache_served_stale_total", counters.servedStale.load(ordering: .relaxed)),
            ]
            for (name, total) in plain {
                collectors.copy(total, from: counters, name: name, into: Counter(label: name, dimensions: labels))
            }
            let byType: [(String, String, Int)] = [
                ("coredns_cache_hits_total", "success", counters.successHits.load(ordering: .relaxed)),
                ("coredns_cache_hits_total", "denial", counters.denialHits.load(ordering: .relaxed)),
                ("coredns_cache_evictions_total", "success", counters.successEvictions.load(ordering: .relaxed)),
                ("coredns_cache_evictions_total", "denial", counters.denialEvictions.load(ordering: .relaxed)),
            ]
            for (name, type, total) in byType {
                collectors.copy(total, from: counters, name: name + type,
                                into: Counter(label: name, dimensions: typed(type)))
            }
        }
    }
}
