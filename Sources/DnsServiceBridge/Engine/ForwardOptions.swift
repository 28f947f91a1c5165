import NIOCore

/// The knobs of one upstream set, with CoreDNS `forward` defaults.
public struct ForwardOptions: Sendable, Equatable {
    /// Use TCP to upstreams even for UDP clients (`force_tcp`).
    public var forceTCP = false
    /// Use UDP to upstreams even for TCP clients, retrying over TCP on TC (`prefer_udp`); force_tcp wins.
    public var preferUDP = false
    /// Idle connections are closed after this long (`expire`).
    public var expire: TimeAmount = .seconds(10)
    /// Consecutive failed health checks that mark an upstream down; 0 never marks it down (`max_fails`).
    public var maxFails = 2
    /// Idle connections kept per upstream and protocol, 0 for no limit (`max_idle_conns`).
    public var maxIdleConnections = 0
    /// How often a failing upstream is checked (`health_check`).
    public var healthCheckInterval: TimeAmount = .milliseconds(500)
    /// The health check query's name (`health_check ... domain NAME`), `.` by default.
    public var healthCheckName: DNSName = .root
    /// Whether the health check asks for recursion (off with `health_check ... no_rec`).
    public var healthCheckRecursionDesired = true
    /// Queries in flight above which new ones are REFUSED, 0 for no limit (`max_concurrent`).
    public var maxConcurrent = 0
    /// Answer SERVFAIL instead of spraying when every upstream is down (`failfast_all_unhealthy_upstreams`).
    public var failFastWhenAllDown = false
    /// The whole request's deadline, across retries (CoreDNS: 5s).
    public var requestTimeout: TimeAmount = .seconds(5)
    /// One exchange's timeout within the request (CoreDNS reads with a 2s timeout).
    public var exchangeTimeout: TimeAmount = .seconds(2)
    /// proxy's `fail_timeout`: when set, a failed exchange itself counts against `maxFails` for this long.
    public var failTimeout: TimeAmount?
    /// Reply codes that hand the query on to the next matching upstream set of the block (`next RCODE...`).
    public var nextRcodes: Set<DNSResponseCode> = []
    /// grpc's `fallthrough [ZONES]`: an NXDOMAIN for a name under one of these goes on to the next set.
    public var fallthroughZones: [DNSName] = []
    /// `client_subnet`: every query goes out with an ECS option made from its client's address.
    public var clientSubnet: MeshConfiguration.ClientSubnet?
    /// `send_client_address`: gRPC upstreams get the client's address in the request metadata.
    public var sendClientAddress = false

    public init() {}
}
