import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import DnsServiceBridge

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let current = Mutex(NIODeadline.uptimeNanoseconds(1_000_000_000_000))
    func now() -> NIODeadline { current.withLock { $0 } }
    func advance(seconds: Int64) { current.withLock { $0 = $0 + .seconds(seconds) } }
}

@Suite struct CachePluginTests {
    static let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    private func context() -> QueryContext {
        QueryContext(client: nil, transport: .udp, eventLoop: Self.group.next())
    }

    private func cache(ttl: Int? = nil, capacity: Int = 100, clock: ManualClock) -> CachePlugin {
        CachePlugin(CacheConfiguration(ttl: ttl, zones: ["."]), capacity: capacity, now: { clock.now() })
    }

    private static func aRecord(_ name: String, ttl: UInt32) throws -> DNSResourceRecord {
        try #require(DNSResourceRecord.address(try DNSName(name), bytes: [192, 0, 2, 1], ttl: ttl))
    }

    @Test func secondQueryIsAnsweredFromTheCacheWithItsIDQuestionAndCountedDownTTL() async throws {
        let clock = ManualClock()
        let plugin = cache(clock: clock)
        let upstream = RecordingHandler { query in
            try PluginTestSupport.reply(to: query, answers: [try Self.aRecord("www.example.org", ttl: 300)])
        }
        let first = try await plugin.handle(try PluginTestSupport.query("www.example.org", .a, id: 1, edns: 1232),
                                            context: context(), next: upstream).get()
        #expect(try PluginTestSupport.records(first).first?.ttl == 300)
        clock.advance(seconds: 100)
        let query = try PluginTestSupport.query("WWW.example.ORG", .a, id: 2)
        let second = try DNSMessage(bytes: try await plugin.handle(query, context: context(), next: upstream).get().bytes)
        #expect(upstream.calls == 1)
        #expect(second.header.id == 2)
        #expect(second.bytes[12..<second.questionEnd] == query.bytes[12..<query.questionEnd])
        #expect(second.header.recursionAvailable)
        #expect(second.edns == nil)  // the first client's OPT is not replayed to a client without EDNS
        #expect(try PluginTestSupport.records(second).map(\.ttl) == [200])
        #expect(plugin.store.counters.successHits.load(ordering: .relaxed) == 1)
        #expect(plugin.store.counters.misses.load(ordering: .relaxed) == 1)
        clock.advance(seconds: 200)
        _ = try await plugin.handle(query, context: context(), next: upstream).get()
        #expect(upstream.calls == 2)  // expired
    }

    @Test func ttlIsCappedByTheDirectiveAndRaisedToFiveSeconds() async throws {
        let clock = ManualClock()
        let capped = cache(ttl: 30, clock: clock)
        let long = RecordingHandler { query in
            try PluginTestSupport.reply(to: query, answers: [try Self.aRecord("a.example.org", ttl: 86400)])
        }
        let reply = try await capped.handle(try PluginTestSupport.query("a.example.org", .a), context: context(),
                                            next: long).get()
        #expect(try PluginTestSupport.records(reply).map(\.ttl) == [30])
        let zero = RecordingHandler { query in
            try PluginTestSupport.reply(to: query, answers: [try Self.aRecord("z.example.org", ttl: 0)])
        }
        let raised = try await cache(clock: clock).handle(try PluginTestSupport.query("z.example.org", .a),
                                                          context: context(), next: zero).get()
        #expect(try PluginTestSupport.records(raised).map(\.ttl) == [5])
    }

    @Test func denialsNeedAnSOAAndUseItsTTL() async throws {
        let clock = ManualClock()
        let plugin = cache(clock: clock)
        let withSOA = RecordingHandler { query in
            try PluginTestSupport.reply(to: query, rcode: .nxDomain,
                                        authority: [try PluginTestSupport.soa("example.org.", ttl: 60)])
        }
        let query = try PluginTestSupport.query("nope.example.org", .a)
        _ = try await plugin.handle(query, context: context(), next: withSOA).get()
        let hit = try await plugin.handle(query, context: context(), next: withSOA).get()
        #expect(withSOA.calls == 1)
        #expect(hit.rcode == .nxDomain)
        #expect(try PluginTestSupport.records(hit).map(\.ttl) == [60])
        #expect(plugin.store.counters.denialHits.load(ordering: .relaxed) == 1)

        let bare = RecordingHandler { query in try PluginTestSupport.reply(to: query, rcode: .nxDomain) }
        let other = try PluginTestSupport.query("bare.example.org", .a)
        _ = try await plugin.handle(other, context: context(), next: bare).get()
        _ = try await plugin.handle(other, context: context(), next: bare).get()
        #expect(bare.calls == 2)
    }

    @Test func truncatedAndRefusedRepliesAreNotCached() async throws {
        let clock = ManualClock()
        let plugin = cache(clock: clock)
        for (rcode, truncated) in [(DNSResponseCode.noError, true), (.refused, false)] {
            let upstream = RecordingHandler { query in
                try PluginTestSupport.reply(to: query, rcode: rcode,
                                            answers: [try Self.aRecord("t.example.org", ttl: 300)], truncated: truncated)
            }
            let query = try PluginTestSupport.query("t.example.org", .a)
            _ = try await plugin.handle(query, context: context(), next: upstream).get()
            _ = try await plugin.handle(query, context: context(), next: upstream).get()
            #expect(upstream.calls == 2)
        }
    }

    @Test func dnssecOKQueriesHaveTheirOwnEntries() async throws {
        let clock = ManualClock()
        let plugin = cache(clock: clock)
        let upstream = RecordingHandler { query in
            try PluginTestSupport.reply(to: query, answers: [try Self.aRecord("d.example.org", ttl: 300)])
        }
        _ = try await plugin.handle(try PluginTestSupport.query("d.example.org", .a, edns: 1232), context: context(),
                                    next: upstream).get()
        let signed = try await plugin.handle(try PluginTestSupport.query("d.example.org", .a, edns: 1232, dnssecOK: true),
                                             context: context(), next: upstream).get()
        #expect(upstream.calls == 2)
        #expect(signed.edns?.dnssecOK == true)
    }

    @Test func capacityIsBoundedAndEvictionsCounted() async throws {
        let clock = ManualClock()
        let plugin = cache(capacity: 2, clock: clock)
        let upstream = RecordingHandler { query in
            let name = try #require(query.question).name
            let record = try #require(DNSResourceRecord.address(name, bytes: [192, 0, 2, 1], ttl: 300))
            return try PluginTestSupport.reply(to: query, answers: [record])
        }
        for name in ["a.example.org", "b.example.org", "c.example.org"] {
            _ = try await plugin.handle(try PluginTestSupport.query(name, .a), context: context(), next: upstream).get()
        }
        #expect(plugin.store.entries.success == 2)
        #expect(plugin.store.counters.successEvictions.load(ordering: .relaxed) == 1)
        _ = try await plugin.handle(try PluginTestSupport.query("a.example.org", .a), context: context(),
                                    next: upstream).get()
        #expect(upstream.calls == 4)  // the oldest entry went first
    }

    @Test func boundedMapEvictsInInsertionOrder() {
        var map = BoundedCacheMap<String, Int>(capacity: 2)
        var evictions: [Bool] = []
        evictions.append(map.insert(1, for: "a"))
        evictions.append(map.insert(2, for: "b"))
        evictions.append(map.insert(20, for: "b"))
        map.remove("a")
        evictions.append(map.insert(3, for: "c"))  // the slot "a" left is reused
        evictions.append(map.insert(4, for: "d"))  // evicts "b"
        #expect(evictions == [false, false, false, false, true])
        #expect(map["b"] == nil && map["c"] == 3 && map["d"] == 4 && map.count == 2)
    }
}
