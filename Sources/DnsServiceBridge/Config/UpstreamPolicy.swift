/// How a forwarder orders its upstreams for each query.
public enum UpstreamPolicy: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A random order per query (the default in CoreDNS).
    case random
    /// Rotate the starting upstream per query.
    case roundRobin = "round_robin"
    /// Always in the order written; `first` (proxy's old name) means this too.
    case sequential
    /// The upstream with the fewest queries in flight first (proxy had it; beyond CoreDNS's forward).
    case leastConn = "least_conn"
    /// Random, in proportion to the `weights` option (beyond CoreDNS).
    case weighted
    /// Fewest queries in flight first, ties to the fastest by a moving average of response times (dnsdist's
    /// leastOutstanding; beyond CoreDNS).
    case leastOutstanding = "least_outstanding"

    /// The Corefile spelling.
    public var description: String { rawValue }
}
