/// `limits { ... }` (dnsgrpcd's own, where dnsdist has setMaxTCPConnectionsPerClient and friends): what one
/// listener holds at most for its clients. Each one not given keeps the listener's default (`DNSListener.Settings`,
/// `GRPCListener.maxCallsInService`).
public struct LimitsConfiguration: Sendable, Hashable {
    /// TCP/DoT connections open at once; at the cap the one idle longest gives way to a new one.
    public var connections: Int?
    /// TCP/DoT connections from one client address.
    public var connectionsPerClient: Int?
    /// Queries in flight on one TCP/DoT connection before reading from it pauses.
    public var pipeline: Int?
    /// gRPC calls served at once; more wait in gRPC core until one finishes.
    public var grpcCalls: Int?

    /// Creates the setting.
    public init(connections: Int? = nil, connectionsPerClient: Int? = nil, pipeline: Int? = nil,
                grpcCalls: Int? = nil) {
        self.connections = connections
        self.connectionsPerClient = connectionsPerClient
        self.pipeline = pipeline
        self.grpcCalls = grpcCalls
    }

    private static let usage = "limits { connections N; connections_per_client N; pipeline N; grpc_calls N }"
    private static let options = ["connections", "connections_per_client", "pipeline", "grpc_calls"]

    static func parse(_ line: CorefileLine) throws(ConfigurationError) -> LimitsConfiguration {
        try line.requireArguments(0...0, usage: usage)
        var limits = LimitsConfiguration()
        for option in line.block {
            guard options.contains(option.name) else { throw option.unknownOption(in: "limits", expected: options) }
            let value = try ForwarderOptions.single(option, usage: "\(option.name) N")
            let number = try OptionValue.integer(value, for: "limits \(option.name)", in: 1...1_000_000,
                                                 expected: "a whole number from 1 to 1000000")
            switch option.name {
            case "connections": limits.connections = number
            case "connections_per_client": limits.connectionsPerClient = number
            case "pipeline": limits.pipeline = number
            default: limits.grpcCalls = number
            }
        }
        guard limits != LimitsConfiguration() else {
            throw line.error("limits sets no limit", expected: "at least one option in a block: '\(usage)'")
        }
        return limits
    }
}
