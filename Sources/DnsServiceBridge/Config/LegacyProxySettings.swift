/// What only CoreDNS's old `proxy` directive had.
public struct LegacyProxySettings: Sendable, Hashable {
    /// What protocol `protocol` chose for the upstreams.
    public enum UpstreamProtocol: String, Sendable, Hashable {
        /// Plain DNS (`protocol dns`, the default).
        case dns
        /// The gRPC DnsService (`protocol grpc`).
        case grpc
    }

    /// proxy's HTTP health check (`health_check PATH:PORT [DURATION]`): GET PATH on PORT of each upstream.
    public struct HTTPHealthCheck: Sendable, Hashable {
        /// The path, such as `/health`.
        public var path: String
        /// The port, such as 8080.
        public var port: Int
        /// How often to check (default 4s).
        public var interval: Duration

        /// Creates a check.
        public init(path: String, port: Int, interval: Duration = .seconds(4)) {
            self.path = path
            self.port = port
            self.interval = interval
        }
    }

    /// How long an upstream stays down after `maxFails` failures (default 2s).
    public var failTimeout: Duration
    /// The HTTP health check, when configured.
    public var httpHealthCheck: HTTPHealthCheck?
    /// `spray`: when every upstream is down, pick one at random anyway.
    public var spray: Bool
    /// `protocol dns` (default) or `protocol grpc`.
    public var upstreamProtocol: UpstreamProtocol

    /// Creates settings with proxy's defaults.
    public init(
        failTimeout: Duration = .seconds(2), httpHealthCheck: HTTPHealthCheck? = nil, spray: Bool = false,
        upstreamProtocol: UpstreamProtocol = .dns
    ) {
        self.failTimeout = failTimeout
        self.httpHealthCheck = httpHealthCheck
        self.spray = spray
        self.upstreamProtocol = upstreamProtocol
    }
}
