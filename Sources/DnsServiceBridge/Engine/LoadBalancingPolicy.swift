import Synchronization

/// The order in which a query tries the upstreams of a set; the first is preferred, the rest are failover.
public enum LoadBalancingPolicy: String, Sendable, Hashable, CaseIterable {
    /// A fresh random order per query (CoreDNS default).
    case random
    /// Start one further along for each query.
    case roundRobin = "round_robin"
    /// Always in configured order.
    case sequential
    /// Fewest queries in flight first (ties in random order).
    case leastConnections = "least_conn"
    /// Random, with each upstream's chance of going first proportional to its weight (0: only as failover).
    case weighted
    /// Fewest queries in flight first, ties to the lowest moving average of response time, then configured order
    /// (dnsdist's leastOutstanding). Upstreams that are down are skipped by the walk as under every policy.
    case leastOutstanding = "least_outstanding"
}

/// A policy with the state it needs (the round-robin counter).
final class UpstreamOrdering: Sendable {
    let policy: LoadBalancingPolicy
    private let counter = Atomic<Int>(0)

    init(_ policy: LoadBalancingPolicy) {
        self.policy = policy
    }

    /// The order one query tries `upstreams` in; the first is preferred, the rest are its failover.
    func order<Member: LoadBalanced>(_ upstreams: [Member]) -> [Member] {
        guard upstreams.count > 1 else { return upstreams }
        switch policy {
        case .random:
            return ThreadRandom.with { upstreams.shuffled(using: &$0) }
        case .roundRobin:
            let start = counter.add(1, ordering: .relaxed).oldValue % upstreams.count
            return Array(upstreams[start...] + upstreams[..<start])
        case .sequential:
            return upstreams
        case .leastConnections:
            // Counts move while we sort: read each once, so the comparison is consistent. Shuffling first
            // breaks ties at random (the sort is stable).
            return ThreadRandom.with { upstreams.shuffled(using: &$0) }.map { ($0, $0.inFlight) }.sorted { $0.1 < $1.1 }
                .map(\.0)
        case .weighted:
            return ThreadRandom.with { Self.weightedOrder(upstreams, using: &$0) }
        case .leastOutstanding:
            return Self.leastOutstandingOrder(upstreams)
        }
    }

    /// Fewest in flight, then lowest latency, then configured order. Each load is read once (they move while we
    /// compare); two upstreams, the usual case, need no sort.
    static func leastOutstandingOrder<Member: LoadBalanced>(_ upstreams: [Member]) -> [Member] {
        if upstreams.count == 2 {
            let (first, second) = (upstreams[0], upstreams[1])
            let (a, b) = ((first.inFlight, first.latency), (second.inFlight, second.latency))
            return b < a ? [second, first] : upstreams
        }
        return upstreams.enumerated().map { ($0.element, ($0.element.inFlight, $0.element.latency, $0.offset)) }
            .sorted { $0.1 < $1.1 }.map(\.0)
    }

    /// Draws without replacement, each draw proportional to the remaining weights; zero weights go last, in
    /// random order, so they only ever serve as failover.
    static func weightedOrder<Member: LoadBalanced>(_ upstreams: [Member],
                                                   using generator: inout some RandomNumberGenerator) -> [Member] {
        var remaining = upstreams.filter { $0.weight > 0 }
        var ordered: [Member] = []
        ordered.reserveCapacity(upstreams.count)
        while !remaining.isEmpty {
            let total = remaining.reduce(0) { $0 + $1.weight }
            var pick = Int.random(in: 0..<total, using: &generator)
            let index = remaining.firstIndex { upstream in
                if pick < upstream.weight { return true }
                pick -= upstream.weight
                return false
            } ?? 0
            ordered.append(remaining.remove(at: index))
        }
        return ordered + upstreams.filter { $0.weight <= 0 }.shuffled(using: &generator)
    }
}
