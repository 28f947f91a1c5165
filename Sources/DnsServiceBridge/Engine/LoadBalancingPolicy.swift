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
}

/// A policy with the state it needs (the round-robin counter).
final class UpstreamOrdering: Sendable {
    let policy: LoadBalancingPolicy
    private let counter = Atomic<Int>(0)

    init(_ policy: LoadBalancingPolicy) {
        self.policy = policy
    }

    func order(_ upstreams: [Upstream]) -> [Upstream] {
        guard upstreams.count > 1 else { return upstreams }
        switch policy {
        case .random:
            return upstreams.shuffled()
        case .roundRobin:
            let start = counter.add(1, ordering: .relaxed).oldValue % upstreams.count
            return Array(upstreams[start...] + upstreams[..<start])
        case .sequential:
            return upstreams
        case .leastConnections:
            return upstreams.shuffled().sorted { $0.inFlight < $1.inFlight }
        case .weighted:
            return Self.weightedOrder(upstreams)
        }
    }

    /// Draws without replacement, each draw proportional to the remaining weights; zero weights go last.
    static func weightedOrder(_ upstreams: [Upstream]) -> [Upstream] {
        var remaining = upstreams.filter { $0.weight > 0 }
        var ordered: [Upstream] = []
        ordered.reserveCapacity(upstreams.count)
        while !remaining.isEmpty {
            let total = remaining.reduce(0) { $0 + $1.weight }
            var pick = Int.random(in: 0..<total)
            let index = remaining.firstIndex { upstream in
                if pick < upstream.weight { return true }
                pick -= upstream.weight
                return false
            } ?? 0
            ordered.append(remaining.remove(at: index))
        }
        return ordered + upstreams.filter { $0.weight <= 0 }.shuffled()
    }
}
