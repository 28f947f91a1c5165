import NIOCore

/// CoreDNS's `cache`: answers repeated questions in its zones from memory for as long as the answer's smallest TTL
/// allows (at least MINTTL, 5s; at most TTL or 3600s for answers and 1800s for denials; SERVFAIL for `servfail`,
/// 5s), with the TTLs counted down (or kept, `keepttl`), the client's ID and question, and an OPT record made for
/// the client. Each of the success and denial caches holds its capacity (9984 by default); the oldest entry goes
/// first when full. `disable` keeps a category out for some zones. With `prefetch`, a popular entry is asked again
/// before it expires; with `serve_stale`, an expired entry answers while (`immediate`) or when (`verify`) its
/// refresh fails. A refresh for an entry is never sent twice at once.
struct CachePlugin: QueryStep {
    private let zones: [DNSName]
    private let limits: CacheEntry.Limits
    private let disabled: (success: [DNSName], denial: [DNSName])
    private let keepTTL: Bool
    private let staleMode: CacheConfiguration.ServeStale.RefreshMode?
    let store: CacheStore
    /// Identical misses in flight share one upstream query.
    let coalescer = MissCoalescer()
    /// For prefetch and serve_stale; nil without a forwarder in the block (nothing to ask again).
    private let refresher: CacheRefresher?
    /// The `server` and `zones` labels of the cache's metrics.
    let metricsServer: String
    let metricsZones: String
    private let now: @Sendable () -> NIODeadline

    init(_ configuration: CacheConfiguration, capacity: Int? = nil, refresher: CacheRefresher? = nil,
         metricsServer: String = "", now: @escaping @Sendable () -> NIODeadline = { .now() }) {
        zones = configuration.zones.compactMap { try? DNSName($0) }
        limits = CacheEntry.Limits(configuration)
        disabled = (configuration.success.disabledZones.compactMap { try? DNSName($0) },
                    configuration.denial.disabledZones.compactMap { try? DNSName($0) })
        keepTTL = configuration.keepTTL
        staleMode = configuration.serveStale?.mode
        store = CacheStore(
            successCapacity: capacity ?? CacheConfiguration.effectiveCapacity(configuration.success.capacity),
            denialCapacity: capacity ?? CacheConfiguration.effectiveCapacity(configuration.denial.capacity),
            staleUpTo: configuration.serveStale?.upTo, prefetch: configuration.prefetch)
        self.refresher = refresher
        self.metricsServer = metricsServer
        metricsZones = configuration.zones.joined(separator: ",")
        self.now = now
    }

    func answer(_ query: DNSMessage, from client: QueryClient) -> DNSMessage? {
        guard let question = cacheable(query) else { return nil }
        store.counters.requests.add(1, ordering: .relaxed)
        let now = now()
        let key = CacheKey(query, question: question)
        guard let found = store.lookup(key, at: now), !(found.isStale && staleMode == .verify) else {
            store.counters.misses.add(1, ordering: .relaxed)
            return nil
        }
        let entry = found.entry
        let ttl: UInt32 = found.isStale ? 0 : keepTTL ? entry.duration : UInt32(entry.remaining(at: now))
        guard let reply = entry.reply(to: query, ttl: ttl) else {
            store.counters.misses.add(1, ordering: .relaxed)
            return nil
        }
        store.counters.hit(entry.kind)
        if found.isStale { store.counters.servedStale.add(1, ordering: .relaxed) }
        if found.refresh {
            if !found.isStale { store.counters.prefetches.add(1, ordering: .relaxed) }
            refresh(query, key: key)
        }
        return reply
    }

    func completed(_ query: DNSMessage, reply: DNSMessage, _ outcome: QueryOutcome) -> DNSMessage {
        guard let question = cacheable(query) else { return reply }
        let key = CacheKey(query, question: question)
        // verify: the upstreams were asked first; when they fail, the expired entry answers instead.
        if staleMode != nil, reply.rcode == .servFail, let stale = staleReply(to: query, key: key) {
            return stale
        }
        guard reply.question == question else {
            store.counters.drops.add(1, ordering: .relaxed)
            return reply
        }
        guard let entry = store(reply, to: query, key: key) else { return reply }
        return CacheEntry.firstReply(reply, entry: entry)
    }

    /// What identical misses share, for a query the cache would keep the answer of; nil for others.
    func coalescingKey(_ query: DNSMessage) -> CacheKey? {
        cacheable(query).map { CacheKey(query, question: $0) }
    }

    /// The question of a standard query under one of the cache's zones; nil for anything the cache leaves alone.
    private func cacheable(_ query: DNSMessage) -> DNSQuestion? {
        guard let question = query.question, query.header.opcode == 0,
              zones.contains(where: { question.name.isSubdomain(of: $0) }) else { return nil }
        return question
    }

    /// Caches `reply` unless its category is disabled for the name; returns the entry stored.
    private func store(_ reply: DNSMessage, to query: DNSMessage, key: CacheKey) -> CacheEntry? {
        guard let entry = CacheEntry.make(reply: reply, to: query, limits: limits, now: now()) else { return nil }
        let off = entry.kind == .success ? disabled.success : disabled.denial
        guard !off.contains(where: { key.name.isSubdomain(of: $0) }) else { return nil }
        store.insert(entry, for: key)
        return entry
    }

    /// An entry past its TTL (within serve_stale's DURATION) as a reply with TTL 0.
    private func staleReply(to query: DNSMessage, key: CacheKey) -> DNSMessage? {
        guard let found = store.lookup(key, at: now()), found.isStale,
              let reply = found.entry.reply(to: query, ttl: 0) else { return nil }
        store.refreshFailed(key)
        store.counters.servedStale.add(1, ordering: .relaxed)
        return reply
    }

    /// Asks the upstreams again in the background; a useful reply replaces the entry, a failure leaves it.
    private func refresh(_ query: DNSMessage, key: CacheKey) {
        guard let refresher else {
            store.refreshFailed(key)
            return
        }
        refresher.refresh(query) { [self] reply in
            if reply.rcode == .servFail || reply.question != query.question || store(reply, to: query, key: key) == nil {
                store.refreshFailed(key)
            }
        }
    }
}
