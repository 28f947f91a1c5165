/// One server block: the keys it serves and what its directives configured.
public struct ServerBlockConfiguration: Sendable, Hashable {
    /// The keys, CIDR keys already turned into reverse zones.
    public var keys: [ListenAddress]
    /// `bind` addresses or interface names; empty means every address (CoreDNS's default).
    public var bind: [String]
    /// `bind ... { except ... }` addresses or interface names left out.
    public var bindExcept: [String]
    /// forward, proxy and grpc directives in the order CoreDNS chains them: every `forward` in file order, then
    /// every `proxy`, then `grpc`.
    public var forwarders: [ForwardConfiguration]
    /// The listener TLS for tls:// and grpc:// keys.
    public var tls: TLSServerSettings?
    /// Where the block's `tls` directive was written, for start-up errors about its files.
    public var tlsLocation: SourceLocation?
    /// The metrics endpoint.
    public var prometheus: PrometheusConfiguration?
    /// The liveness endpoint.
    public var health: HealthConfiguration?
    /// The readiness endpoint.
    public var ready: ReadyConfiguration?
    /// Query logging rules, one per `log` line; empty means no query log.
    public var log: [LogConfiguration]
    /// Error logging.
    public var errors: ErrorsConfiguration?
    /// Answers from a hosts file.
    public var hosts: HostsConfiguration?
    /// `whoami`: answer with the client's address and port.
    public var whoami: Bool
    /// The answer cache.
    public var cache: CacheConfiguration?
    /// Per-client query rate limits.
    public var rateLimit: RateLimitConfiguration?
    /// Corefile reloading.
    public var reload: ReloadConfiguration?
    /// Connection timeouts of the block's TCP and DoT listeners.
    public var timeouts: TimeoutsConfiguration?
    /// What the block's listeners hold at most for their clients.
    public var limits: LimitsConfiguration?
    /// `loop`: forwarding-loop detection at start-up.
    public var loop = false
    /// `loadbalance [round_robin]`: A, AAAA and MX records shuffled in every reply.
    public var loadBalance = false
    /// `reflection on|off`: gRPC server reflection on the block's gRPC listeners (on unless turned off).
    public var reflection = true
    /// Where the block starts (its first key).
    /// `unix_socket`: mode and owner of the block's gRPC unix sockets.
    public var unixSocket: UnixSocketPermissions?
    /// `trusted_proxies`: gRPC peers whose metadata may name their client.
    public var trustedProxies = TrustedProxies()
    public var location: SourceLocation

    /// Creates a block with nothing configured.
    public init(keys: [ListenAddress], location: SourceLocation) {
        self.keys = keys
        self.bind = []
        self.bindExcept = []
        self.forwarders = []
        self.tls = nil
        self.tlsLocation = nil
        self.prometheus = nil
        self.health = nil
        self.ready = nil
        self.log = []
        self.errors = nil
        self.hosts = nil
        self.whoami = false
        self.cache = nil
        self.reload = nil
        self.timeouts = nil
        self.limits = nil
        self.location = location
    }

    /// The distinct zones of the keys, in order; what `hosts` and `cache` default to.
    public var zones: [String] {
        var seen: [String] = []
        for key in keys where !seen.contains(key.zone) { seen.append(key.zone) }
        return seen
    }

    /// The addresses to listen on: `bind` without `bindExcept`, or `[""]` (every address) when there is no bind.
    public var listenHosts: [String] {
        bind.isEmpty ? [""] : bind.filter { !bindExcept.contains($0) }
    }

    /// Where `key` listens: `listenHosts`, or for a unix socket key its `unix:PATH` alone.
    public func listenHosts(for key: ListenAddress) -> [String] {
        key.unixPath.map { ["unix:" + $0] } ?? listenHosts
    }
}
