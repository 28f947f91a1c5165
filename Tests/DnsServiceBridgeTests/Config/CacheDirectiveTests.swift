import Testing
@testable import DnsServiceBridge

@Suite struct CacheDirectiveTests {
    private func cache(_ body: String, arguments: String = "") throws -> CacheConfiguration? {
        try parseCorefile(".:15353 {\n    cache\(arguments) {\n\(body)\n    }\n}\n").servers[0].cache
    }

    @Test func everyOptionWithItsValues() throws {
        let parsed = try #require(try cache("""
                success 9984 30 10
                denial 5000 5
                prefetch 3 30s 20%
                serve_stale 2h verify
                servfail 10s
                disable denial example.org example.net
                disable success
                keepttl
            """, arguments: " 60 example.org"))
        var expected = CacheConfiguration(ttl: 60, zones: ["example.org."])
        expected.success.capacity = 9984
        expected.success.maximumTTL = 30
        expected.success.minimumTTL = 10
        expected.success.disabledZones = ["."]
        expected.denial.capacity = 5000
        expected.denial.maximumTTL = 5
        expected.denial.disabledZones = ["example.org.", "example.net."]
        var prefetch = CacheConfiguration.Prefetch(amount: 3)
        prefetch.window = .seconds(30)
        prefetch.percentage = 20
        expected.prefetch = prefetch
        var stale = CacheConfiguration.ServeStale()
        stale.upTo = .seconds(7200)
        stale.mode = .verify
        expected.serveStale = stale
        expected.servfail = .seconds(10)
        expected.keepTTL = true
        #expect(parsed == expected)
        #expect(parsed.successTTL == 30 && parsed.denialTTL == 5)
    }

    @Test func defaultsAreCoreDNSs() throws {
        let parsed = try #require(try cache("""
                prefetch 2
                serve_stale
            """))
        #expect(parsed.success.capacity == 9984 && parsed.denial.capacity == 9984)
        #expect(parsed.success.minimumTTL == 5 && parsed.denial.minimumTTL == 5)
        #expect(parsed.successTTL == 3600 && parsed.denialTTL == 1800)
        #expect(parsed.prefetch?.window == .seconds(60) && parsed.prefetch?.percentage == 10)
        #expect(parsed.serveStale?.upTo == .seconds(3600) && parsed.serveStale?.mode == .immediate)
        #expect(parsed.servfail == .seconds(5))
        #expect(!parsed.keepTTL)
        #expect(CacheConfiguration.effectiveCapacity(9984) == 9984)
        #expect(CacheConfiguration.effectiveCapacity(5000) == 4864)
        #expect(CacheConfiguration.effectiveCapacity(10) == 1024)
    }

    @Test(arguments: [
        ("success", "Corefile:3: success is missing an argument; expected 'success CAPACITY [TTL] [MINTTL]'"),
        ("success x", "Corefile:3: success capacity 'x' is not a number; expected a number of entries"),
        ("success 100 0", "Corefile:3: success TTL 0 is out of range; expected a TTL of at least 1 second"),
        ("denial 100 30 -1", "Corefile:3: denial MINTTL -1 is out of range; expected a minimum TTL of 0 seconds or more"),
        ("denial 1 2 3 4", "Corefile:3: denial has too many arguments (4); expected 'denial CAPACITY [TTL] [MINTTL]'"),
        ("prefetch", "Corefile:3: prefetch is missing an argument; expected 'prefetch AMOUNT [[DURATION] [PERCENTAGE%]]'"),
        ("prefetch 2 1m 10", "Corefile:3: prefetch percentage '10'; expected a percentage with its sign, such as 10%"),
        ("prefetch 2 1m 95%", "Corefile:3: prefetch percentage 95% is out of range; expected a percentage from 10% to 90%"),
        ("prefetch 2 soon", "Corefile:3: bad duration 'soon' for prefetch; expected \(OptionValue.durationExample)"),
        ("serve_stale 1h later", "Corefile:3: serve_stale refresh mode 'later'; expected immediate or verify"),
        ("serve_stale -1h", "Corefile:3: bad duration '-1h' for serve_stale; expected \(OptionValue.durationExample)"),
        ("servfail 6m", "Corefile:3: servfail 6m is over 5 minutes; expected a duration of at most 5m (RFC 2308)"),
        ("disable", "Corefile:3: disable is missing an argument; expected 'disable success|denial [ZONES...]'"),
        ("disable errors", "Corefile:3: cache type 'errors' for disable; expected success or denial"),
        ("keepttl now", "Corefile:3: keepttl has too many arguments (1); expected 'keepttl'"),
        ("evict lru", "Corefile:3: unknown option 'evict' in cache; expected one of denial, disable, keepttl, "
            + "prefetch, serve_stale, servfail, success"),
    ])
    func malformedOptionsSayWhatIsWrong(option: String, error: String) {
        #expect(corefileError(".:15353 {\n    cache {\n        \(option)\n    }\n}\n") == error)
    }

    @Test func aZeroTTLIsRefused() {
        #expect(corefileError(".:15353 {\n    cache 0\n}\n")
            == "Corefile:2: cache TTL 0 is out of range; expected a TTL of at least 1 second")
    }
}
