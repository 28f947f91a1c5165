import Synchronization

/// The cache's counters, named after CoreDNS's cache metrics (coredns_cache_requests_total,
/// coredns_cache_hits_total{type}, coredns_cache_misses_total, coredns_cache_evictions_total{type},
/// coredns_cache_drops_total, coredns_cache_prefetch_total, coredns_cache_served_stale_total), which
/// `CacheMetrics` exports.
final class CacheCounters: Sendable {
    let successHits = Atomic<Int>(0)
    let denialHits = Atomic<Int>(0)
    let requests = Atomic<Int>(0)
    let misses = Atomic<Int>(0)
    let prefetches = Atomic<Int>(0)
    let servedStale = Atomic<Int>(0)
    let successEvictions = Atomic<Int>(0)
    let denialEvictions = Atomic<Int>(0)
    /// Replies not cached because they did not match the query's question.
    let drops = Atomic<Int>(0)

    init() {}

    func hit(_ kind: CacheEntry.Kind) {
        switch kind {
        case .success: successHits.add(1, ordering: .relaxed)
        case .denial: denialHits.add(1, ordering: .relaxed)
        }
    }

    func evicted(_ kind: CacheEntry.Kind) {
        switch kind {
        case .success: successEvictions.add(1, ordering: .relaxed)
        case .denial: denialEvictions.add(1, ordering: .relaxed)
        }
    }
}
