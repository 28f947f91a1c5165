import NIOCore

/// What the UDP relay needs from one `dns://` or `grpc://` listener: its engine (the decision every frontend calls)
/// and a target for each plain DNS upstream of its blocks, to which the relay's threads keep their own sockets.
struct UDPRelayPlan: Sendable {
    /// One upstream, with what the relay's own sockets to it need.
    struct Target: Sendable {
        let upstream: Upstream
        let address: SocketAddress
        let counters: TransportCounters
        let expire: TimeAmount
    }

    let engine: ListenerEngine
    let targets: [Target]
    /// Loops for the walks of queries whose next exchange is not a UDP one (TCP, DoT, gRPC upstreams).
    let group: any EventLoopGroup

    /// The most upstreams the relay serves: one thread watches all their sockets, current and draining, within
    /// `DatagramReadiness.maxSockets`.
    static let maxTargets = DatagramReadiness.maxSockets / (2 * RelayLane.socketsPerUpstream) - 1

    /// nil when the listener has more plain DNS upstreams than one relay thread watches.
    init?(engine: ListenerEngine, group: any EventLoopGroup) {
        var targets: [Target] = []
        var seen: Set<ObjectIdentifier> = []
        for set in engine.sets {
            for upstream in set.upstreams where seen.insert(ObjectIdentifier(upstream)).inserted {
                guard let dns = upstream.transport as? DNSUpstreamTransport else { continue }
                targets.append(Target(upstream: upstream, address: dns.address, counters: dns.counters,
                                      expire: dns.expire))
            }
        }
        guard targets.count <= Self.maxTargets else { return nil }
        self.engine = engine
        self.targets = targets
        self.group = group
    }

    /// How many relays: one per event loop, as NIO has a UDP channel per loop (a relay thread each for `dns://`, a
    /// completion queue each for gRPC).
    var threads: Int { group.loopCount }
}
