import NIOCore

/// CoreDNS's `cache [TTL] [ZONES...]`: answers repeated questions in its zones from memory for as long as the
/// answer's smallest TTL allows (at least 5s, at most TTL or 3600s for answers and 1800s for denials; SERVFAIL
/// for 5s), with the TTLs counted down, the client's ID and question, and an OPT record made for the client.
/// Each of the success and denial caches holds at most 10000 entries; the oldest goes first when full.
struct CachePlugin: QueryStep {
    private let zones: [DNSName]
    private let limits: CacheEntry.Limits
    let store: CacheStore
    private let now: @Sendable () -> NIODeadline

    init(_ configuration: CacheConfiguration, capacity: Int = CacheConfiguration.defaultCapacity,
         now: @escaping @Sendable () -> NIODeadline = { .now() }) {
        zones = configuration.zones.compactMap { try? DNSName($0) }
        var limits = CacheEntry.Limits()
        limits.successMaximum = UInt32(clamping: configuration.successTTL)
        limits.denialMaximum = UInt32(clamping: configuration.denialTTL)
        self.limits = limits
        store = CacheStore(capacity: capacity)
        self.now = now
    }

    func answer(_ query: DNSMessage, from client: QueryClient) -> DNSMessage? {
        guard let question = cacheable(query) else { return nil }
        let now = now()
        if let entry = store.lookup(CacheKey(query, question: question), at: now),
           let reply = entry.reply(to: query, at: now) {
            store.counters.hit(entry.kind)
            return reply
        }
        store.counters.misses.add(1, ordering: .relaxed)
        return nil
    }

    func completed(_ query: DNSMessage, reply: DNSMessage, _ outcome: QueryOutcome) -> DNSMessage {
        guard let question = cacheable(query) else { return reply }
        guard reply.question == question else {
            store.counters.drops.add(1, ordering: .relaxed)
            return reply
        }
        guard let entry = CacheEntry.make(reply: reply, to: query, limits: limits, now: now()) else { return reply }
        store.insert(entry, for: CacheKey(query, question: question))
        return CacheEntry.firstReply(reply, entry: entry)
    }

    /// The question of a standard query under one of the cache's zones; nil for anything the cache leaves alone.
    private func cacheable(_ query: DNSMessage) -> DNSQuestion? {
        guard let question = query.question, query.header.opcode == 0,
              zones.contains(where: { question.name.isSubdomain(of: $0) }) else { return nil }
        return question
    }
}
