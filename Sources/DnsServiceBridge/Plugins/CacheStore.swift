import NIOCore
import Synchronization

/// CoreDNS's two caches, success and denial, each bounded to its capacity, behind one lock; with serve_stale,
/// expired entries stay until they are older than its DURATION.
final class CacheStore: Sendable {
    private struct Maps {
        var success: BoundedCacheMap<CacheKey, CacheEntry>
        var denial: BoundedCacheMap<CacheKey, CacheEntry>

        /// The map of `kind`, changed in place (a copy of it would copy the whole dictionary).
        mutating func with<Result>(_ kind: CacheEntry.Kind,
                                   _ body: (inout BoundedCacheMap<CacheKey, CacheEntry>) -> Result) -> Result {
            switch kind {
            case .success: body(&success)
            case .denial: body(&denial)
            }
        }

        func entry(_ kind: CacheEntry.Kind, _ key: CacheKey) -> CacheEntry? {
            kind == .success ? success[key] : denial[key]
        }
    }

    /// What a lookup found: the entry, whether it is past its TTL, and whether this lookup is the one that must
    /// refresh it (a prefetch of a popular entry, or a stale entry served at once); the store marks it refreshing,
    /// so no other lookup sends a second one.
    struct Found {
        let entry: CacheEntry
        let isStale: Bool
        let refresh: Bool
    }

    /// How long expired entries are kept to be served stale (nil: removed when they expire).
    private let staleUpTo: Duration?
    private let prefetch: CacheConfiguration.Prefetch?
    private let maps: Mutex<Maps>
    let counters = CacheCounters()

    init(successCapacity: Int = CacheConfiguration.defaultCapacity,
         denialCapacity: Int = CacheConfiguration.defaultCapacity,
         staleUpTo: Duration? = nil, prefetch: CacheConfiguration.Prefetch? = nil) {
        self.staleUpTo = staleUpTo
        self.prefetch = prefetch
        maps = Mutex(Maps(success: BoundedCacheMap(capacity: successCapacity),
                          denial: BoundedCacheMap(capacity: denialCapacity)))
    }

    /// The entry for `key`, positive first as CoreDNS looks: a live one, or with serve_stale one expired for less
    /// than its DURATION; anything older is removed. A live hit counts towards prefetch.
    func lookup(_ key: CacheKey, at now: NIODeadline) -> Found? {
        maps.withLock { maps in
            for kind in [CacheEntry.Kind.success, .denial] {
                let found = maps.with(kind) { map in map.update(key) { entry -> Found? in
                    let left = entry.remaining(at: now)
                    if left > 0 {
                        return Found(entry: entry, isStale: false, refresh: countHit(&entry, left: left, now: now))
                    }
                    guard let staleUpTo, now - entry.stored < .nanoseconds(Int64(entry.duration) * 1_000_000_000)
                        + TimeAmount(staleUpTo) else { return nil }
                    let refresh = !entry.refreshing
                    entry.refreshing = true
                    return Found(entry: entry, isStale: true, refresh: refresh)
                } }
                switch found {
                case .some(.some(let found)): return found
                case .some(.none): maps.with(kind) { $0.remove(key) }
                case .none: continue
                }
            }
            return nil
        }
    }

    /// CoreDNS's prefetch rule: AMOUNT hits with no gap of DURATION, and the TTL down to PERCENTAGE of what it was
    /// (at least 1 second before it ends). True once per refresh.
    private func countHit(_ entry: inout CacheEntry, left: Int64, now: NIODeadline) -> Bool {
        guard let prefetch, prefetch.amount > 0 else { return false }
        entry.hits = now - entry.lastHit > TimeAmount(prefetch.window) ? 1 : entry.hits + 1
        entry.lastHit = now
        let threshold = max(1, (Int64(entry.duration) * Int64(prefetch.percentage) + 99) / 100)
        guard entry.hits >= prefetch.amount, left <= threshold, !entry.refreshing else { return false }
        entry.refreshing = true
        return true
    }

    /// Stores `entry`; a newer answer of the other kind for the same key is dropped so the two never disagree. A
    /// refreshed entry keeps the popularity of the one it replaces, as CoreDNS carries an item's frequency over.
    func insert(_ entry: CacheEntry, for key: CacheKey) {
        let evicted = maps.withLock { maps in
            var entry = entry
            let other: CacheEntry.Kind = entry.kind == .success ? .denial : .success
            if let old = maps.entry(entry.kind, key) ?? maps.entry(other, key) {
                entry.hits = old.hits
                entry.lastHit = old.lastHit
            }
            maps.with(other) { $0.remove(key) }
            return maps.with(entry.kind) { $0.insert(entry, for: key) }
        }
        if evicted { counters.evicted(entry.kind) }
    }

    /// A refresh of `key` came to nothing: the entry stays as it was, and the next lookup may try again.
    func refreshFailed(_ key: CacheKey) {
        maps.withLock { maps in
            for kind in [CacheEntry.Kind.success, .denial] {
                _ = maps.with(kind) { $0.update(key) { $0.refreshing = false } }
            }
        }
    }

    /// Entries held now, per kind (coredns_cache_entries{type}).
    var entries: (success: Int, denial: Int) {
        maps.withLock { ($0.success.count, $0.denial.count) }
    }
}
