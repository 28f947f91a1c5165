import NIOCore

/// What the server blocks sharing one listener set for the listener itself (`timeouts`, `limits`): of the blocks
/// on it, the first that sets an option gives its value, as the first block's `tls` does. `reflection off` in any
/// of them turns reflection off: a block that hides its services must not have them shown by its neighbour.
struct ListenerOptions {
    private var timeouts = TimeoutsConfiguration()
    private var limits = LimitsConfiguration()
    /// gRPC server reflection on a gRPC listener.
    private(set) var reflection = true

    mutating func take(from block: ServerBlockConfiguration) {
        reflection = reflection && block.reflection
        if let given = block.timeouts {
            timeouts.read = timeouts.read ?? given.read
            timeouts.write = timeouts.write ?? given.write
            timeouts.idle = timeouts.idle ?? given.idle
        }
        if let given = block.limits {
            limits.connections = limits.connections ?? given.connections
            limits.connectionsPerClient = limits.connectionsPerClient ?? given.connectionsPerClient
            limits.pipeline = limits.pipeline ?? given.pipeline
            limits.grpcCalls = limits.grpcCalls ?? given.grpcCalls
        }
    }

    /// A TCP/DoT listener's settings with what was set, the defaults for the rest.
    func applied(to settings: DNSListener.Settings) -> DNSListener.Settings {
        var settings = settings
        if let read = timeouts.read { settings.frameTimeout = TimeAmount(read) }
        if let write = timeouts.write { settings.drainTimeout = TimeAmount(write) }
        if let idle = timeouts.idle { settings.idleTimeout = TimeAmount(idle) }
        if let connections = limits.connections { settings.maxConnections = connections }
        if let perClient = limits.connectionsPerClient { settings.maxConnectionsPerClient = perClient }
        if let pipeline = limits.pipeline { settings.maxPipelined = pipeline }
        return settings
    }

    /// gRPC calls a gRPC listener serves at once.
    var grpcCalls: Int { limits.grpcCalls ?? GRPCListener.maxCallsInService }
}
