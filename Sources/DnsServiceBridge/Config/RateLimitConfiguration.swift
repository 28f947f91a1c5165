/// `ratelimit RATE [BURST] { ... }` (dnsgrpcd's own; dnsdist's MaxQPSIPRule and CoreDNS's external `ratelimit`
/// plugin, whose `ratelimit LIMIT { whitelist ... }` reads the same here): queries a second per client, the
/// client being its address masked to a prefix, with a burst; the excess is answered REFUSED or dropped.
public struct RateLimitConfiguration: Sendable, Hashable {
    /// What a client over its rate gets.
    public enum Action: String, Sendable, Hashable {
        /// A REFUSED reply (as CoreDNS's external plugin and `max_concurrent` answer).
        case refuse
        /// No reply at all: UDP nothing, TCP/DoT nothing for that query, gRPC RESOURCE_EXHAUSTED, DoH 429.
        case drop
    }

    /// Queries a second per client.
    public var rate: Double
    /// Queries a client may send at once before the rate applies; by default the rate rounded up (dnsdist's).
    public var burst: Int
    /// The bits of an IPv4 address that make one client (32: each address).
    public var ipv4Prefix = 32
    /// The bits of an IPv6 address that make one client: 56, a customer site as ISPs delegate them (RFC 6177),
    /// since one host alone may use any of its /64's addresses.
    public var ipv6Prefix = 56
    public var action = Action.refuse
    /// The most clients remembered at once (the table's bound, 60 to 120 bytes each).
    public var maxClients = 100_000
    /// Networks never limited.
    public var exempt: [ClientNetwork] = []

    /// The rate and burst with every other setting at its default.
    public init(rate: Double, burst: Int? = nil) {
        self.rate = rate
        self.burst = burst ?? Self.defaultBurst(rate)
    }

    static func defaultBurst(_ rate: Double) -> Int {
        max(1, Int(rate.rounded(.up)))
    }

    static let usage = "ratelimit RATE [BURST] { ipv4_prefix N; ipv6_prefix N; action refuse|drop; max_clients N; "
        + "exempt ADDRESS[/PREFIX]... }"
    static let options = ["action", "exempt", "ipv4_prefix", "ipv6_prefix", "max_clients", "whitelist"]
    static let rateRange = 0.001...1_000_000.0
    static let maxClientsRange = 1...10_000_000

    static func parse(_ line: CorefileLine) throws(ConfigurationError) -> RateLimitConfiguration {
        try line.requireArguments(1...2, usage: usage)
        var limit = RateLimitConfiguration(rate: try rate(line.arguments[0]))
        if line.arguments.count > 1 {
            limit.burst = try OptionValue.integer(line.arguments[1], for: "ratelimit BURST", in: 1...1_000_000,
                                                  expected: "a burst of 1 to 1000000 queries")
        }
        for option in line.block {
            switch option.name {
            case "ipv4_prefix":
                let value = try ForwarderOptions.single(option, usage: "ipv4_prefix N")
                limit.ipv4Prefix = try OptionValue.integer(value, for: "ipv4_prefix", in: 1...32,
                                                           expected: "a prefix length from 1 to 32")
            case "ipv6_prefix":
                let value = try ForwarderOptions.single(option, usage: "ipv6_prefix N")
                limit.ipv6Prefix = try OptionValue.integer(value, for: "ipv6_prefix", in: 1...128,
                                                           expected: "a prefix length from 1 to 128")
            case "action":
                let value = try ForwarderOptions.single(option, usage: "action refuse|drop")
                guard let action = Action(rawValue: value.text) else {
                    throw ConfigurationError(at: value.location, "unknown ratelimit action '\(value.text)'",
                                             expected: "refuse or drop")
                }
                limit.action = action
            case "max_clients":
                let value = try ForwarderOptions.single(option, usage: "max_clients N")
                limit.maxClients = try OptionValue.integer(value, for: "max_clients", in: maxClientsRange,
                                                           expected: "a number of clients from 1 to 10000000")
            case "exempt", "whitelist":
                try option.requireArguments(1...Int.max, usage: "\(option.name) ADDRESS[/PREFIX]...")
                try option.requireNoBlock(usage: "\(option.name) ADDRESS[/PREFIX]...")
                for token in option.arguments {
                    guard let network = ClientNetwork(token.text) else {
                        throw ConfigurationError(
                            at: token.location, "\(option.name) '\(token.text)' is not an IP address or network",
                            expected: "an address or ADDRESS/PREFIX such as 192.0.2.1, 10.0.0.0/8 or 2001:db8::/32")
                    }
                    limit.exempt.append(network)
                }
            default:
                throw option.unknownOption(in: "ratelimit", expected: options)
            }
        }
        return limit
    }

    /// Queries a second: a decimal number (`50`, `0.5`) in `rateRange`.
    private static func rate(_ token: CorefileToken) throws(ConfigurationError) -> Double {
        let expected = "queries a second per client, a number from 0.001 to 1000000 such as 50 or 0.5"
        let parts = token.text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 10 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let value = Double(token.text) else {
            throw ConfigurationError(at: token.location, "ratelimit RATE '\(token.text)' is not a number",
                                     expected: expected)
        }
        guard rateRange.contains(value) else {
            throw ConfigurationError(at: token.location, "ratelimit RATE \(token.text) is out of range",
                                     expected: expected)
        }
        return value
    }
}
