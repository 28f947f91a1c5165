import Logging
import NIOCore
import Synchronization

/// One `forward FROM TO...` block: the zone it serves, its upstreams, their policy and options.
public final class UpstreamSet: Sendable {
    /// The zone (`FROM`) whose names this set forwards.
    public let zone: DNSName
    /// Names under `FROM` that fall through (`except`).
    public let except: [DNSName]
    public let upstreams: [Upstream]
    public let options: ForwardOptions
    let ordering: UpstreamOrdering
    let metrics: ForwardMetrics
    private let concurrent = Atomic<Int>(0)

    /// Builds the set; each transport becomes an upstream with its weight (1 when not weighted).
    public init(zone: DNSName, except: [DNSName], transports: [(any UpstreamExchanger, weight: Int)],
                policy: LoadBalancingPolicy, options: ForwardOptions, metrics: ForwardMetrics,
                group: any EventLoopGroup, logger: Logger) {
        self.zone = zone
        self.except = except
        self.options = options
        self.metrics = metrics
        ordering = UpstreamOrdering(policy)
        upstreams = transports.map {
            Upstream(transport: $0.0, weight: $0.weight, options: options, metrics: metrics, group: group,
                     logger: logger)
        }
    }

    public var policy: LoadBalancingPolicy { ordering.policy }

    /// Whether this set forwards `name`: under `FROM` and not under any `except` name.
    public func matches(_ name: DNSName) -> Bool {
        name.isSubdomain(of: zone) && !except.contains { name.isSubdomain(of: $0) }
    }

    /// Whether `reply` goes on to the next matching set instead of to the client (`next`, grpc's `fallthrough`).
    public func handsOn(_ reply: DNSMessage, for name: DNSName) -> Bool {
        if options.nextRcodes.contains(reply.rcode) { return true }
        return reply.rcode == .nxDomain && options.fallthroughZones.contains { name.isSubdomain(of: $0) }
    }

    /// Forwards one query and completes (on the context's loop) with the reply for the client: the upstream's
    /// answer, or SERVFAIL when every upstream failed or the deadline passed, or REFUSED over max_concurrent.
    public func forward(_ query: DNSMessage, context: QueryContext) -> EventLoopFuture<DNSMessage> {
        ForwardAttempt.run(ForwardWalk(query: query, sets: [self][...], client: context.asker),
                           context: context).map(\.reply)
    }

    /// Takes a `max_concurrent` slot; false when the set is full.
    func enterConcurrent() -> Bool {
        if concurrent.add(1, ordering: .relaxed).newValue > options.maxConcurrent {
            concurrent.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func leaveConcurrent() {
        concurrent.subtract(1, ordering: .relaxed)
    }

    func stop() {
        upstreams.forEach { $0.stop() }
    }
}
