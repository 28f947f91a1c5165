/// `cache [TTL] [ZONES...] { ... }`: cache answers for these zones, with CoreDNS's options and defaults
/// (its cache README): `success`, `denial`, `prefetch`, `serve_stale`, `servfail`, `disable`, `keepttl`.
public struct CacheConfiguration: Sendable, Hashable {
    /// CoreDNS's cap in seconds on the TTL of cached positive answers when no TTL is given.
    public static let defaultSuccessTTL = 3600
    /// CoreDNS's cap in seconds on the TTL of cached denials (NXDOMAIN, NODATA) when no TTL is given.
    public static let defaultDenialTTL = 1800
    /// CoreDNS's default number of entries in each of the success and denial caches (256 shards of 39).
    public static let defaultCapacity = 9984
    /// The least seconds anything is kept, unless `success`/`denial` give a MINTTL.
    public static let defaultMinimumTTL = 5

    /// One of the two caches: `success CAPACITY [TTL] [MINTTL]` or `denial ...`, and `disable` for it.
    public struct Category: Sendable, Hashable {
        /// Entries held at most; CoreDNS rounds a given capacity down to a multiple of 256, at least 1024.
        public var capacity = CacheConfiguration.defaultCapacity
        /// The TTL cap in seconds this category's `success`/`denial` line gives; nil follows `cache [TTL]`.
        public var maximumTTL: Int?
        /// The least seconds an entry is kept.
        public var minimumTTL = CacheConfiguration.defaultMinimumTTL
        /// Zones whose answers of this category are never cached (`disable success|denial [ZONES...]`).
        public var disabledZones: [String] = []

        public init() {}
    }

    /// `prefetch AMOUNT [[DURATION] [PERCENTAGE%]]`: an entry asked AMOUNT times with no gap of DURATION is
    /// refreshed once its TTL falls to PERCENTAGE of what it was.
    public struct Prefetch: Sendable, Hashable {
        public var amount: Int
        public var window: Duration = .seconds(60)
        public var percentage = 10

        public init(amount: Int) { self.amount = amount }
    }

    /// `serve_stale [DURATION] [REFRESH_MODE]` (RFC 8767): expired entries are kept for DURATION (1h) and served
    /// with TTL 0, either at once while a refresh runs (`immediate`, the default) or only when the upstreams fail
    /// to answer (`verify`).
    public struct ServeStale: Sendable, Hashable {
        public enum RefreshMode: String, Sendable, Hashable, CaseIterable {
            case immediate, verify
        }

        public var upTo: Duration = .seconds(3600)
        public var mode = RefreshMode.immediate

        public init() {}
    }

    /// The TTL cap in seconds of `cache TTL`; nil when none was given.
    public var ttl: Int?
    /// The zones cached, normalized; the server block's zones when none are given.
    public var zones: [String]
    public var success = Category()
    public var denial = Category()
    public var prefetch: Prefetch?
    public var serveStale: ServeStale?
    /// How long SERVFAIL (and NOTIMP) replies are cached; 0 turns it off (`servfail DURATION`, at most 5m).
    public var servfail: Duration = .seconds(5)
    /// Hits carry the TTL the entry was stored with, not what is left of it (`keepttl`).
    public var keepTTL = false

    /// Creates the setting.
    public init(ttl: Int? = nil, zones: [String]) {
        self.ttl = ttl
        self.zones = zones
    }

    /// The TTL cap in seconds for positive answers: `success`'s TTL, else `cache TTL`, else 3600.
    public var successTTL: Int { success.maximumTTL ?? ttl ?? Self.defaultSuccessTTL }
    /// The TTL cap in seconds for NXDOMAIN/NODATA answers: `denial`'s TTL, else `cache TTL`, else 1800.
    public var denialTTL: Int { denial.maximumTTL ?? ttl ?? Self.defaultDenialTTL }

    /// CoreDNS's capacity rule: 256 equal shards of at least 4 entries, so a multiple of 256, at least 1024.
    public static func effectiveCapacity(_ given: Int) -> Int {
        max(1024, given / 256 * 256)
    }
}
