import Testing
@testable import DnsServiceBridge

/// The token bucket (GCRA) on an injected clock, and the bounded table under a flood of distinct sources.
@Suite struct RateLimitTableTests {
    /// The table of one shard, in a box so that `#expect` can call its mutating methods.
    private final class Buckets {
        var buckets: ClientBuckets
        init(capacity: Int) { buckets = ClientBuckets(capacity: capacity) }
        func admit(_ client: ClientIP, now: Int64, rule: RateLimitRule) -> Bool {
            buckets.admit(client, now: now, rule: rule)
        }
        var count: Int { buckets.count }
        var evictions: Int { buckets.evictions }
        func contains(_ client: ClientIP) -> Bool { buckets.contains(client) }
    }

    private static let second: Int64 = 1_000_000_000
    private let client = ClientIP(ipv4: 0xC000_0207)  // 192.0.2.7

    @Test func aBurstThenTheRate() {
        let buckets = Buckets(capacity: 10)
        let rule = RateLimitRule(rate: 2, burst: 5)
        let start = Self.second * 100
        let admitted = (0..<8).filter { _ in buckets.admit(client, now: start, rule: rule) }.count
        #expect(admitted == 5, "the burst, all at once")
        // One query more every half second at 2 a second; refusals on the way do not cost a token.
        #expect(!buckets.admit(client, now: start + Self.second / 2 - 1, rule: rule))
        #expect(buckets.admit(client, now: start + Self.second / 2, rule: rule))
        #expect(!buckets.admit(client, now: start + Self.second / 2, rule: rule))
        #expect(buckets.admit(client, now: start + Self.second, rule: rule))
        // Idle long enough, the bucket is full again, and no fuller.
        let later = start + 60 * Self.second
        #expect((0..<8).filter { _ in buckets.admit(client, now: later, rule: rule) }.count == 5)
    }

    @Test func aSteadyClientAtItsRateIsNeverLimited() {
        let buckets = Buckets(capacity: 10)
        let rule = RateLimitRule(rate: 100, burst: 1)
        for tick in 0..<1000 {
            #expect(buckets.admit(client, now: Int64(tick) * Self.second / 100, rule: rule))
        }
        #expect(!buckets.admit(client, now: 999 * Self.second / 100, rule: rule))
    }

    @Test func aFractionalRate() {
        let buckets = Buckets(capacity: 10)
        let rule = RateLimitRule(rate: 0.1, burst: 1)  // one query every 10 s
        #expect(buckets.admit(client, now: 0, rule: rule))
        #expect(!buckets.admit(client, now: 9 * Self.second, rule: rule))
        #expect(buckets.admit(client, now: 10 * Self.second, rule: rule))
    }

    @Test func clientsHaveBucketsOfTheirOwn() {
        let buckets = Buckets(capacity: 10)
        let rule = RateLimitRule(rate: 1, burst: 1)
        let other = ClientIP(ipv4: 0xC000_0208)
        #expect(buckets.admit(client, now: 0, rule: rule))
        #expect(!buckets.admit(client, now: 0, rule: rule))
        #expect(buckets.admit(other, now: 0, rule: rule))
    }

    @Test func theClientSeenLeastRecentlyGoesFirst() {
        let buckets = Buckets(capacity: 3)
        let rule = RateLimitRule(rate: 1, burst: 1)
        let clients = (1...4).map { ClientIP(ipv4: $0) }
        for client in clients.prefix(3) { _ = buckets.admit(client, now: 0, rule: rule) }
        _ = buckets.admit(clients[0], now: 0, rule: rule)  // seen again: now the most recent
        _ = buckets.admit(clients[3], now: 0, rule: rule)
        #expect(buckets.count == 3 && buckets.evictions == 1)
        #expect(buckets.contains(clients[0]) && !buckets.contains(clients[1]))
        #expect(buckets.contains(clients[2]) && buckets.contains(clients[3]))
        #expect(!buckets.admit(clients[0], now: 0, rule: rule), "its bucket survived the eviction")
    }

    @Test func aCapacityOfOne() {
        let buckets = Buckets(capacity: 1)
        let rule = RateLimitRule(rate: 1, burst: 1)
        for value in UInt32(1)...5 {
            #expect(buckets.admit(ClientIP(ipv4: value), now: 0, rule: rule))
            #expect(buckets.count == 1 && buckets.contains(ClientIP(ipv4: value)))
        }
        #expect(buckets.evictions == 4)
    }

    /// The bad input, scaled down: a million distinct sources against a bound of 1,000.
    @Test func aMillionSourcesStayWithinTheBound() {
        let table = RateLimitTable(rule: RateLimitRule(rate: 1, burst: 1), maxClients: 1000)
        #expect(table.capacity <= 1000 && table.capacity >= 990)
        var admitted = 0
        for source in 0..<1_000_000 {
            let ip = source & 1 == 0 ? ClientIP(ipv4: 0x0A00_0000 | UInt32(source))
                : ClientIP(value: 0x2001_0DB8 << 96 | UInt128(source) << 40)
            if table.admit(ip, now: Int64(source)) { admitted += 1 }
        }
        #expect(admitted == 1_000_000, "every new source has a full bucket")
        #expect(table.count <= 1000)
        #expect(table.count + table.evictions == 1_000_000)
        // A client that keeps asking stays remembered (and limited) amid the flood.
        let steady = ClientIP(ipv4: 0xC000_0207)
        #expect(table.admit(steady, now: 0))
        for source in 0..<10_000 {
            _ = table.admit(ClientIP(ipv4: 0x0B00_0000 | UInt32(source)), now: 0)
            if source % 10 == 0 { #expect(!table.admit(steady, now: 0)) }
        }
    }
}
