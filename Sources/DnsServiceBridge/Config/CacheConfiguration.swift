/// `cache [TTL] [ZONES...]`: cache answers for these zones.
public struct CacheConfiguration: Sendable, Hashable {
    /// CoreDNS's cap in seconds on the TTL of cached positive answers when no TTL is given.
    public static let defaultSuccessTTL = 3600
    /// CoreDNS's cap in seconds on the TTL of cached denials (NXDOMAIN, NODATA) when no TTL is given.
    public static let defaultDenialTTL = 1800
    /// CoreDNS's default number of entries in each of the success and denial caches.
    public static let defaultCapacity = 10_000

    /// The TTL cap in seconds given in the Corefile; nil when none was given.
    public var ttl: Int?
    /// The zones cached, normalized; the server block's zones when none are given.
    public var zones: [String]

    /// Creates the setting.
    public init(ttl: Int? = nil, zones: [String]) {
        self.ttl = ttl
        self.zones = zones
    }

    /// The TTL cap in seconds for positive answers: `ttl`, else 3600.
    public var successTTL: Int { ttl ?? Self.defaultSuccessTTL }
    /// The TTL cap in seconds for NXDOMAIN/NODATA answers: `ttl`, else 1800.
    public var denialTTL: Int { ttl ?? Self.defaultDenialTTL }

    static func parse(_ line: CorefileLine, context: DirectiveContext) throws(ConfigurationError) -> CacheConfiguration {
        try line.requireNoBlock(usage: "cache [TTL] [ZONES...]")
        var arguments = line.arguments[...]
        var cache = CacheConfiguration(zones: context.blockZones)
        // As in CoreDNS, a first argument that is a number is the TTL; anything else is a zone.
        if let first = arguments.first, let ttl = Int(first.text) {
            guard ttl > 0 else {
                throw ConfigurationError(at: first.location, "cache TTL \(ttl) is not positive", expected: "a TTL of at least 1 second")
            }
            cache.ttl = ttl
            arguments = arguments.dropFirst()
        }
        if !arguments.isEmpty {
            var zones: [String] = []
            for argument in arguments {
                zones.append(try OptionValue.zone(argument, for: "cache zone"))
            }
            cache.zones = zones
        }
        return cache
    }
}
