import Synchronization

/// Every client's rate limit state for one `ratelimit` directive: `ClientBuckets` split into shards by a hash of
/// the client (Swift's, seeded per process, so a flood cannot aim at one shard), each behind its own lock, since
/// every worker and event loop of the block's listeners asks at once. A lock is held for one dictionary lookup and
/// a few stores. The shards together hold at most `maxClients`.
final class RateLimitTable: Sendable {
    private final class Shard: Sendable {
        let buckets: Mutex<ClientBuckets>

        init(capacity: Int) {
            buckets = Mutex(ClientBuckets(capacity: capacity))
        }
    }

    static let shardCount = 16

    let rule: RateLimitRule
    private let shards: [Shard]

    /// A table for at most `maxClients` clients (at least 1).
    init(rule: RateLimitRule, maxClients: Int) {
        self.rule = rule
        let maxClients = max(1, maxClients)
        let count = min(Self.shardCount, maxClients)
        shards = (0..<count).map { _ in Shard(capacity: maxClients / count) }
    }

    /// Whether `client` (its address masked to the prefix limited as one) may have one more query at `now`
    /// (nanoseconds on a monotonic clock).
    func admit(_ client: ClientIP, now: Int64) -> Bool {
        let shard = shards[Int(UInt(bitPattern: client.hashValue) % UInt(shards.count))]
        return shard.buckets.withLock { $0.admit(client, now: now, rule: rule) }
    }

    /// The clients held now.
    var count: Int { shards.reduce(0) { total, shard in total + shard.buckets.withLock { $0.count } } }

    /// The clients forgotten so far to make room for others.
    var evictions: Int { shards.reduce(0) { total, shard in total + shard.buckets.withLock { $0.evictions } } }

    /// The most clients the table holds.
    var capacity: Int { shards.reduce(0) { total, shard in total + shard.buckets.withLock { $0.capacity } } }
}
