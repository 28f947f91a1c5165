import NIOCore
import Synchronization

/// `ratelimit`: at most RATE queries a second per client, after a burst of BURST, over every listener of the block
/// (a UDP, TCP, DoT, DoH or gRPC query from one client draws on the same bucket). A client is its address masked
/// to `ipv4_prefix` or `ipv6_prefix` bits. Past its rate a query is answered REFUSED (through the steps before this
/// one, `log` and the metrics, as any answer), or dropped. It runs right after `errors` and `log`, before `cache`:
/// a cache hit costs a client its token as a forwarded query does.
///
/// A client with no IP address (a gRPC client on a unix socket) is not limited: the socket's file mode says who may
/// connect, and a bucket shared by every such client would let one starve the others.
final class RateLimitPlugin: QueryStep {
    let table: RateLimitTable
    let action: RateLimitConfiguration.Action
    private let exempt: [ClientNetwork]
    private let ipv4Mask: UInt128
    private let ipv6Mask: UInt128
    /// Queries limited, by action.
    let limited = Atomic<Int>(0)
    /// The `server` label of the metrics: the block's first listener.
    let metricsServer: String
    /// Nanoseconds on a monotonic clock.
    private let now: @Sendable () -> Int64

    init(_ configuration: RateLimitConfiguration, metricsServer: String = "",
         now: @escaping @Sendable () -> Int64 = { Int64(NIODeadline.now().uptimeNanoseconds) }) {
        table = RateLimitTable(rule: RateLimitRule(rate: configuration.rate, burst: configuration.burst),
                               maxClients: configuration.maxClients)
        action = configuration.action
        exempt = configuration.exempt
        ipv4Mask = ClientIP.mask(bits: 96 + configuration.ipv4Prefix)
        ipv6Mask = ClientIP.mask(bits: configuration.ipv6Prefix)
        self.metricsServer = metricsServer
        self.now = now
    }

    func verdict(_ query: DNSMessage, from client: QueryClient) -> StepVerdict {
        guard let address = client.ip, !exempt.contains(where: { $0.contains(address) }) else { return .pass }
        if table.admit(address.masked(address.isIPv4 ? ipv4Mask : ipv6Mask), now: now()) { return .pass }
        limited.add(1, ordering: .relaxed)
        switch action {
        case .refuse: return .answer(query.errorReply(.refused))
        case .drop: return .drop
        }
    }
}
