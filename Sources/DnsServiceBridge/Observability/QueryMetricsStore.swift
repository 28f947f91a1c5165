import NIOPosix
import Synchronization

/// The per-query metrics (CoreDNS's `coredns_dns_*` of every listener and `coredns_forward_*`/`coredns_grpc_*` of
/// every upstream) counted with no lock on the query path: each thread that finishes queries (a worker, an event
/// loop) adds to series of its own, with atomic adds nobody else writes, and a scrape sums every thread's series and
/// writes them in Prometheus's text format. A thread's series live as long as the store, so nothing counted is lost
/// when a worker ends at a reload, and the same label values go on counting across reloads.
final class QueryMetricsStore: Sendable {
    /// The process's store, scraped by `/metrics`.
    static let shared = QueryMetricsStore()

    /// The `rcode` of a query that got no reply (dropped): counted as a request, not as a response. Above every
    /// rcode (they have 12 bits).
    static let noReply = UInt16.max

    /// What one series counts under: a listener's labels, or an upstream's.
    enum Key: Hashable, Sendable {
        /// A query answered by a listener: `server`, `zone`, and the label values as numbers (type nil: `other`).
        case query(server: LabelSet, zone: String, transport: ClientTransport, isIPv6: Bool, type: UInt16?, rcode: UInt16)
        /// An exchange sent to an upstream (`requests_total`).
        case request(upstream: LabelSet)
        /// An upstream's reply (`responses_total`, `request_duration_seconds`).
        case response(upstream: LabelSet, rcode: UInt16)
    }

    /// Label values fixed when a listener or upstream starts (`server`; `plugin` and `to`), interned so that a key
    /// hashes an object identity rather than the strings, and the same values give the same series after a reload.
    final class LabelSet: Hashable, Sendable {
        let values: [String]

        fileprivate init(_ values: [String]) { self.values = values }

        static func == (lhs: LabelSet, rhs: LabelSet) -> Bool { lhs === rhs }
        func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
    }

    /// One running count, added to by one thread only.
    final class Tally: Sendable {
        private let count = Atomic<Int>(0)

        func add(_ amount: Int) { count.add(amount, ordering: .relaxed) }
        var value: Int { count.load(ordering: .relaxed) }
    }

    /// A histogram's buckets (not cumulative: each observation counts in the first bucket that holds it, the last
    /// is +Inf) and the sum of what it observed.
    final class Histogram: Sendable {
        let buckets: [Tally]
        let sum = Tally()

        init(bounds: Int) { buckets = (0...bounds).map { _ in Tally() } }

        func observe(_ value: Int, bounds: [Int]) {
            var index = 0
            while index < bounds.count && value > bounds[index] { index += 1 }
            buckets[index].add(1)
            sum.add(value)
        }
    }

    /// Everything one thread counted under one key.
    final class Series: Sendable {
        let key: Key
        let count = Tally()
        let dnssecOK = Tally()
        let duration = Histogram(bounds: QueryMetricsStore.durationBounds.count)
        let requestSize = Histogram(bounds: QueryMetricsStore.sizeBounds.count)
        let responseSize = Histogram(bounds: QueryMetricsStore.sizeBounds.count)

        init(key: Key) { self.key = key }
    }

    /// One thread's series: looked up by that thread only (no lock); the list the scrape reads is appended to under
    /// a lock when a new series appears, once per label values and thread.
    final class Shard: @unchecked Sendable {
        // Read and written by the shard's own thread only.
        private var byKey: [Key: Series] = [:]
        let published = Mutex<[Series]>([])

        func series(_ key: Key) -> Series {
            if let series = byKey[key] { return series }
            let series = Series(key: key)
            byKey[key] = series
            published.withLock { $0.append(series) }
            return series
        }
    }

    /// CoreDNS's `plugin.TimeBuckets` (0.25 ms doubling to about 8 s), in nanoseconds.
    static let durationBounds: [Int] = PrometheusMetrics.timeBuckets.map { Int($0.components.seconds) * 1_000_000_000
        + Int($0.components.attoseconds / 1_000_000_000) }
    /// CoreDNS's size buckets, in bytes.
    static let sizeBounds: [Int] = PrometheusMetrics.sizeBuckets.map { Int($0) }

    private let current = ThreadSpecificVariable<Shard>()
    private let shards = Mutex<(all: [Shard], free: [Shard])>(([], []))
    private let labelSets = Mutex<[[String]: LabelSet]>([:])

    init() {}

    /// The interned label set for these values.
    func labels(_ values: [String]) -> LabelSet {
        labelSets.withLock { sets in
            if let set = sets[values] { return set }
            let set = LabelSet(values)
            sets[values] = set
            return set
        }
    }

    /// The calling thread's series for `key`.
    func series(_ key: Key) -> Series {
        if let shard = current.currentValue { return shard.series(key) }
        let shard = shards.withLock { shards in
            if let free = shards.free.popLast() { return free }
            let shard = Shard()
            shards.all.append(shard)
            return shard
        }
        current.currentValue = shard
        return shard.series(key)
    }

    /// Called by a thread about to end (a worker at a reload): its series go on, for the next thread that counts,
    /// so threads that come and go do not add shards without bound.
    func threadEnds() {
        guard let shard = current.currentValue else { return }
        current.currentValue = nil
        shards.withLock { $0.free.append(shard) }
    }

    /// Every series of every thread, for a scrape.
    var allSeries: [Series] {
        shards.withLock { $0.all }.flatMap { shard in shard.published.withLock { $0 } }
    }
}
