import NIOCore

/// CoreDNS's `cache [TTL] [ZONES...]`: answers repeated questions in its zones from memory for as long as the
/// answer's smallest TTL allows (at least 5s, at most TTL or 3600s for answers and 1800s for denials; SERVFAIL
/// for 5s), with the TTLs counted down, the client's ID and question, and an OPT record made for the client.
/// Each of the success and denial caches holds at most 10000 entries; the oldest goes first when full.
struct CachePlugin: QueryPlugin {
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

    func handle(_ query: DNSMessage, context: QueryContext, next: any QueryHandler) -> EventLoopFuture<DNSMessage> {
        guard let question = query.question, query.header.opcode == 0,
              zones.contains(where: { question.name.isSubdomain(of: $0) })
        else { return next.handle(query, context: context) }
        let key = CacheKey(query, question: question)
        if let entry = store.lookup(key, at: now()), let reply = entry.reply(to: query, at: now()) {
            store.counters.hit(entry.kind)
            return context.eventLoop.makeSucceededFuture(reply)
        }
        store.counters.misses.add(1, ordering: .relaxed)
        let store = store
        let limits = limits
        let now = now
        return next.handle(query, context: context).map { reply in
            guard reply.question == question else {
                store.counters.drops.add(1, ordering: .relaxed)
                return reply
            }
            guard let entry = CacheEntry.make(reply: reply, to: query, limits: limits, now: now()) else {
                return reply
            }
            store.insert(entry, for: key)
            return CacheEntry.firstReply(reply, entry: entry)
        }
    }
}
