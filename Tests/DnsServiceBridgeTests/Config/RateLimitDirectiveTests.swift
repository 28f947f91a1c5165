import Testing
@testable import DnsServiceBridge

@Suite struct RateLimitDirectiveTests {
    private func rateLimit(_ line: String, _ body: String? = nil) throws -> RateLimitConfiguration? {
        let block = body.map { " {\n\($0)\n    }" } ?? ""
        return try parseCorefile(".:15353 {\n    \(line)\(block)\n}\n").servers[0].rateLimit
    }

    @Test func everyOptionWithItsValues() throws {
        let parsed = try #require(try rateLimit("ratelimit 0.5 20", """
                ipv4_prefix 24
                ipv6_prefix 64
                action drop
                max_clients 1000
                exempt 10.0.0.0/8 192.0.2.1
                whitelist 2001:db8::/32
            """))
        var expected = RateLimitConfiguration(rate: 0.5, burst: 20)
        expected.ipv4Prefix = 24
        expected.ipv6Prefix = 64
        expected.action = .drop
        expected.maxClients = 1000
        expected.exempt = ["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"].compactMap(ClientNetwork.init)
        #expect(parsed == expected)
        #expect(parsed.exempt.map(\.description) == ["10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32"])
    }

    @Test func defaults() throws {
        let parsed = try #require(try rateLimit("ratelimit 50"))
        #expect(parsed.rate == 50 && parsed.burst == 50, "the burst is the rate, as dnsdist's MaxQPSIPRule")
        #expect(parsed.ipv4Prefix == 32 && parsed.ipv6Prefix == 56)
        #expect(parsed.action == .refuse && parsed.maxClients == 100_000 && parsed.exempt.isEmpty)
        #expect(try rateLimit("ratelimit 0.2")?.burst == 1)
        #expect(try rateLimit("ratelimit 2.5")?.burst == 3)
        #expect(try parseCorefile(".:15353 {\n    whoami\n}\n").servers[0].rateLimit == nil)
    }

    @Test func coreDNSsExternalPluginsFormReads() throws {
        // github.com/milgradesec/ratelimit: `ratelimit LIMIT { whitelist IPs... }`.
        let parsed = try #require(try rateLimit("ratelimit 50", "        whitelist 127.0.0.1 192.168.1.25"))
        #expect(parsed.exempt.map(\.description) == ["127.0.0.1/32", "192.168.1.25/32"])
    }

    @Test(arguments: [
        ("ratelimit", "Corefile:2: ratelimit is missing an argument; expected '\(RateLimitConfiguration.usage)'"),
        ("ratelimit 1 2 3", "Corefile:2: ratelimit has too many arguments (3); expected '\(RateLimitConfiguration.usage)'"),
        ("ratelimit fast", "Corefile:2: ratelimit RATE 'fast' is not a number; expected \(rateExpected)"),
        ("ratelimit -1", "Corefile:2: ratelimit RATE '-1' is not a number; expected \(rateExpected)"),
        ("ratelimit 1e3", "Corefile:2: ratelimit RATE '1e3' is not a number; expected \(rateExpected)"),
        ("ratelimit .5", "Corefile:2: ratelimit RATE '.5' is not a number; expected \(rateExpected)"),
        ("ratelimit 5.", "Corefile:2: ratelimit RATE '5.' is not a number; expected \(rateExpected)"),
        ("ratelimit nan", "Corefile:2: ratelimit RATE 'nan' is not a number; expected \(rateExpected)"),
        ("ratelimit 0", "Corefile:2: ratelimit RATE 0 is out of range; expected \(rateExpected)"),
        ("ratelimit 0.0001", "Corefile:2: ratelimit RATE 0.0001 is out of range; expected \(rateExpected)"),
        ("ratelimit 1000001", "Corefile:2: ratelimit RATE 1000001 is out of range; expected \(rateExpected)"),
        ("ratelimit 99999999999999999999", "Corefile:2: ratelimit RATE '99999999999999999999' is not a number; "
            + "expected \(rateExpected)"),
        ("ratelimit 10 0", "Corefile:2: ratelimit BURST 0 is out of range; expected a burst of 1 to 1000000 queries"),
        ("ratelimit 10 many", "Corefile:2: ratelimit BURST 'many' is not a number; expected a burst of 1 to 1000000 queries"),
        ("ratelimit 10 1.5", "Corefile:2: ratelimit BURST '1.5' is not a number; expected a burst of 1 to 1000000 queries"),
    ])
    func badArgumentsSayWhatIsWrong(line: String, error: String) {
        #expect(corefileError(".:15353 {\n    \(line)\n}\n") == error)
    }

    static let rateExpected = "queries a second per client, a number from 0.001 to 1000000 such as 50 or 0.5"

    @Test(arguments: [
        ("ipv4_prefix 0", "Corefile:3: ipv4_prefix 0 is out of range; expected a prefix length from 1 to 32"),
        ("ipv4_prefix 33", "Corefile:3: ipv4_prefix 33 is out of range; expected a prefix length from 1 to 32"),
        ("ipv4_prefix /24", "Corefile:3: ipv4_prefix '/24' is not a number; expected a prefix length from 1 to 32"),
        ("ipv4_prefix", "Corefile:3: ipv4_prefix is missing an argument; expected 'ipv4_prefix N'"),
        ("ipv6_prefix 129", "Corefile:3: ipv6_prefix 129 is out of range; expected a prefix length from 1 to 128"),
        ("ipv6_prefix 56 64", "Corefile:3: ipv6_prefix has too many arguments (2); expected 'ipv6_prefix N'"),
        ("action slip", "Corefile:3: unknown ratelimit action 'slip'; expected refuse or drop"),
        ("action REFUSE", "Corefile:3: unknown ratelimit action 'REFUSE'; expected refuse or drop"),
        ("action", "Corefile:3: action is missing an argument; expected 'action refuse|drop'"),
        ("max_clients 0", "Corefile:3: max_clients 0 is out of range; expected a number of clients from 1 to 10000000"),
        ("max_clients 10000001",
         "Corefile:3: max_clients 10000001 is out of range; expected a number of clients from 1 to 10000000"),
        ("max_clients lots", "Corefile:3: max_clients 'lots' is not a number; expected a number of clients from 1 to 10000000"),
        ("exempt", "Corefile:3: exempt is missing an argument; expected 'exempt ADDRESS[/PREFIX]...'"),
        ("exempt localhost", "Corefile:3: exempt 'localhost' is not an IP address or network; expected \(exemptExpected)"),
        ("exempt 10.0.0.0/33", "Corefile:3: exempt '10.0.0.0/33' is not an IP address or network; expected \(exemptExpected)"),
        ("exempt 10.0.0.0/", "Corefile:3: exempt '10.0.0.0/' is not an IP address or network; expected \(exemptExpected)"),
        ("exempt 10.0.0.0/+8", "Corefile:3: exempt '10.0.0.0/+8' is not an IP address or network; expected \(exemptExpected)"),
        ("exempt ::1/129", "Corefile:3: exempt '::1/129' is not an IP address or network; expected \(exemptExpected)"),
        ("whitelist 1.2.3.4,5.6.7.8",
         "Corefile:3: whitelist '1.2.3.4,5.6.7.8' is not an IP address or network; expected \(exemptExpected)"),
        ("burst 5", "Corefile:3: unknown option 'burst' in ratelimit; expected one of action, exempt, ipv4_prefix, "
            + "ipv6_prefix, max_clients, whitelist"),
    ])
    func badOptionsSayWhatIsWrong(option: String, error: String) {
        #expect(corefileError(".:15353 {\n    ratelimit 10 {\n        \(option)\n    }\n}\n") == error)
    }

    static let exemptExpected = "an address or ADDRESS/PREFIX such as 192.0.2.1, 10.0.0.0/8 or 2001:db8::/32"

    @Test func oncePerBlock() {
        #expect(corefileError(".:15353 {\n    ratelimit 10\n    ratelimit 20\n}\n")
            == "Corefile:3: ratelimit is given twice in one server block (first at Corefile:2); "
            + "expected at most one ratelimit per server block")
    }

    @Test func anOptionTakesNoBlock() {
        #expect(corefileError(".:15353 {\n    ratelimit 10 {\n        action drop {\n        }\n    }\n}\n")
            == "Corefile:3: action takes no block; expected 'action refuse|drop'")
    }
}
