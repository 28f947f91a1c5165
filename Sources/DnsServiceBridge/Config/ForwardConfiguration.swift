/// One `forward`, `grpc` or legacy `proxy` directive: which names go to which upstreams, and how.
///
/// The three directives share this shape; `kind` says which one was written, since their defaults differ
/// (see `init(kind:from:upstreams:location:)`).
public struct ForwardConfiguration: Sendable, Hashable {
    /// Which directive this came from.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// CoreDNS's `forward` plugin.
        case forward
        /// CoreDNS's `grpc` plugin: every upstream speaks the gRPC DnsService.
        case grpc
        /// CoreDNS's old `proxy` plugin, removed in CoreDNS 1.5; accepted so old Corefiles keep working.
        case proxy
    }

    /// The in-band health check `forward` runs against an upstream after it fails.
    public struct HealthCheck: Sendable, Hashable {
        /// How often to probe an unhealthy upstream.
        public var interval: Duration
        /// Whether the probe sets the RD bit (`no_rec` clears it).
        public var recursionDesired: Bool
        /// The name probed with `NS` (`domain NAME`), lowercase and fully qualified.
        public var domain: String

        /// Creates health check settings; the defaults are CoreDNS's: every 0.5s, `. IN NS` with RD set.
        public init(interval: Duration = .milliseconds(500), recursionDesired: Bool = true, domain: String = ".") {
            self.interval = interval
            self.recursionDesired = recursionDesired
            self.domain = domain
        }
    }

    /// CoreDNS's limit on upstreams per directive.
    public static let maximumUpstreams = 15

    /// forward, grpc or proxy.
    public var kind: Kind
    /// The zone whose names this directive handles (`FROM`), normalized.
    public var from: String
    /// The upstreams, resolv.conf files already expanded, in the order written.
    public var upstreams: [UpstreamAddress]
    /// Names under `from` that are not forwarded (`except`), normalized.
    public var except: [String]
    /// How upstreams are ordered per query.
    public var policy: UpstreamPolicy
    /// For `policy weighted`, one weight per upstream in `upstreams` order (0: failover only); empty otherwise.
    public var weights: [Int]
    /// TLS for tls:// and grpc:// upstreams; `tls_servername` is its `serverName`.
    public var tls: TLSClientSettings
    /// Where `tls` (forward, grpc) or proxy's `protocol grpc` was written, for start-up errors about its files;
    /// nil when it was not written, which for forward keeps grpc:// upstreams plaintext (see `tlsSettings(for:)`).
    public var tlsLocation: SourceLocation?
    /// Use TCP to plain DNS upstreams even for UDP queries.
    public var forceTCP: Bool
    /// Use UDP to plain DNS upstreams even for TCP queries (retry over TCP when truncated); `forceTCP` wins.
    public var preferUDP: Bool
    /// `multiplex_udp` was given: accepted and changes nothing, since UDP to plain DNS upstreams always goes over
    /// the workers' long-lived sockets, many queries in flight on each (dnsdist's way).
    public var multiplexUDP: Bool
    /// How long an idle cached upstream connection is kept.
    public var expire: Duration
    /// Failed health checks (forward) or failures within `failTimeout` (proxy) before an upstream is down;
    /// 0 means never down and never health checked.
    public var maxFails: Int
    /// Idle connections cached per upstream; 0 means no limit.
    public var maxIdleConns: Int
    /// The health check settings.
    public var healthCheck: HealthCheck
    /// Queries in flight before new ones get REFUSED; 0 means no limit.
    public var maxConcurrent: Int
    /// How DoH upstreams are asked (`doh_method GET|POST`, POST by default as CoreDNS).
    public var dohMethod: DoHUpstreamTransport.Method = .post
    /// When every upstream is down, answer SERVFAIL instead of trying a random one.
    public var failfastAllUnhealthyUpstreams: Bool
    /// Response codes (`next NXDOMAIN ...`) that hand the query to the next forwarder of the block.
    public var nextRcodes: [Int]
    /// grpc's `fallthrough [ZONES]`: zones where an NXDOMAIN goes on to the next forwarder; nil when not set,
    /// `["."]` for all zones.
    public var fallthroughZones: [String]?
    /// Beyond CoreDNS: the client's address passed on and how gRPC upstreams are connected.
    public var mesh = MeshConfiguration()
    /// The legacy proxy's own settings; non-nil exactly when `kind` is `.proxy`.
    public var legacyProxy: LegacyProxySettings?
    /// Where the directive was written.
    public var location: SourceLocation

    /// Creates a directive with the defaults of its kind:
    ///
    /// | setting | forward | grpc | proxy |
    /// |---|---|---|---|
    /// | policy | random | random | random |
    /// | tls | system CAs (tls://), plaintext (grpc://) | plaintext | system CAs (grpc) |
    /// | expire | 10s | 10s | 10s |
    /// | maxFails | 2 | 0 (grpc has no health checks) | 1 |
    /// | healthCheck | 0.5s, RD, `.` | same | same |
    /// | legacyProxy | nil | nil | fail_timeout 2s |
    public init(kind: Kind, from: String, upstreams: [UpstreamAddress], location: SourceLocation) {
        self.kind = kind
        self.from = from
        self.upstreams = upstreams
        self.except = []
        self.policy = .random
        self.weights = []
        self.tls = kind == .grpc ? .insecure : .systemCAs
        self.tlsLocation = nil
        self.forceTCP = false
        self.preferUDP = false
        self.multiplexUDP = false
        self.expire = .seconds(10)
        self.maxFails = switch kind {
        case .forward: 2
        case .grpc: 0
        case .proxy: 1
        }
        self.maxIdleConns = 0
        self.healthCheck = HealthCheck()
        self.maxConcurrent = 0
        self.failfastAllUnhealthyUpstreams = false
        self.nextRcodes = []
        self.fallthroughZones = nil
        self.legacyProxy = kind == .proxy ? LegacyProxySettings() : nil
        self.location = location
    }

    /// True for the legacy `proxy` directive, so the daemon can log a line recommending `forward`.
    public var isDeprecatedProxy: Bool { kind == .proxy }

    /// The TLS settings for one upstream: the directive's, with the upstream's own server name if it has one.
    ///
    /// In a `forward` block, tls:// upstreams verify with the system CAs when no `tls` is written (CoreDNS), but
    /// grpc:// upstreams are plaintext unless `tls`, `tls_servername` or a per-upstream `#NAME` asks for TLS,
    /// the way CoreDNS's grpc plugin treats them (so `forward . grpc://127.0.0.1:5553` reaches a plaintext
    /// DnsService server).
    public func tlsSettings(for upstream: UpstreamAddress) -> TLSClientSettings {
        if kind == .forward, upstream.transport == .grpc, tlsLocation == nil, tls.serverName == nil,
           upstream.tlsServerName == nil {
            return .insecure
        }
        guard let name = upstream.tlsServerName else { return tls }
        return tls.withServerName(name)
    }
}
