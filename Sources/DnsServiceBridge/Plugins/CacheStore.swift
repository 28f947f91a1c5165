import NIOCore
import Synchronization

/// CoreDNS's two caches, success and denial, each bounded to `capacity` entries, behind one lock.
final class CacheStore: Sendable {
    private struct Maps {
        var success: BoundedCacheMap<CacheKey, CacheEntry>
        var denial: BoundedCacheMap<CacheKey, CacheEntry>
    }

    private let maps: Mutex<Maps>
    let counters = CacheCounters()

    /// Two caches of at most `capacity` entries each (CoreDNS's default is 10000).
    init(capacity: Int = CacheConfiguration.defaultCapacity) {
        maps = Mutex(Maps(success: BoundedCacheMap(capacity: capacity), denial: BoundedCacheMap(capacity: capacity)))
    }

    /// The live entry for `key`, positive first as CoreDNS looks; an expired one is removed.
    func lookup(_ key: CacheKey, at now: NIODeadline) -> CacheEntry? {
        maps.withLock { maps in
            for kind in [CacheEntry.Kind.success, .denial] {
                let entry = kind == .success ? maps.success[key] : maps.denial[key]
                guard let entry else { continue }
                if entry.remaining(at: now) > 0 { return entry }
                if kind == .success { maps.success.remove(key) } else { maps.denial.remove(key) }
            }
            return nil
        }
    }

    /// Stores `entry`; a newer answer of the other kind for the same key is dropped so the two never disagree.
    func insert(_ entry: CacheEntry, for key: CacheKey) {
        let evicted = maps.withLock { maps in
            switch entry.kind {
            case .success:
                maps.denial.remove(key)
                return maps.success.insert(entry, for: key)
            case .denial:
                maps.success.remove(key)
                return maps.denial.insert(entry, for: key)
            }
        }
        if evicted { counters.evicted(entry.kind) }
    }

    /// Entries held now, per kind (coredns_cache_entries{type}).
    var entries: (success: Int, denial: Int) {
        maps.withLock { ($0.success.count, $0.denial.count) }
    }
}
