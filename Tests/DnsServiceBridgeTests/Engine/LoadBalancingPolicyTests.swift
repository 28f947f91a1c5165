import Testing
@testable import DnsServiceBridge

/// A policy only reads weight and load; this stands in for an upstream in the policy's own tests.
private struct Member: LoadBalanced, Equatable {
    let name: String
    var weight = 1
    var inFlight = 0
    var latency = 0
}

private let a = Member(name: "a"), b = Member(name: "b"), c = Member(name: "c")

/// How often each member came first in `draws` orders.
private func firstCounts(_ ordering: UpstreamOrdering, _ members: [Member], draws: Int) -> [String: Int] {
    var counts: [String: Int] = [:]
    for _ in 0..<draws {
        let order = ordering.order(members)
        #expect(order.count == members.count)
        #expect(Set(order.map(\.name)) == Set(members.map(\.name)), "every upstream stays in the order")
        counts[order[0].name, default: 0] += 1
    }
    return counts
}

@Test func roundRobinRotatesExactly() {
    let ordering = UpstreamOrdering(.roundRobin)
    let expected = [[a, b, c], [b, c, a], [c, a, b]]
    for query in 0..<300 {
        #expect(ordering.order([a, b, c]) == expected[query % 3], "query \(query)")
    }
}

@Test func roundRobinSpreadsEvenly() {
    let counts = firstCounts(UpstreamOrdering(.roundRobin), [a, b, c], draws: 300)
    #expect(counts == ["a": 100, "b": 100, "c": 100])
}

@Test func sequentialKeepsTheConfiguredOrder() {
    let ordering = UpstreamOrdering(.sequential)
    for _ in 0..<50 {
        #expect(ordering.order([a, b, c]) == [a, b, c])
    }
}

@Test func randomPutsEveryUpstreamFirst() {
    let counts = firstCounts(UpstreamOrdering(.random), [a, b, c], draws: 3000)
    // Each has probability 1/3 per draw: fewer than 800 of 3000 is over 11 standard deviations away.
    for name in ["a", "b", "c"] {
        #expect(counts[name, default: 0] > 800, "\(name) first \(counts[name, default: 0]) times of 3000")
    }
}

@Test func leastConnPrefersFewerInFlight() {
    let ordering = UpstreamOrdering(.leastConnections)
    let busy = Member(name: "a", inFlight: 5), idle = Member(name: "b", inFlight: 0)
    let some = Member(name: "c", inFlight: 2)
    for _ in 0..<50 {
        #expect(ordering.order([busy, idle, some]).map(\.name) == ["b", "c", "a"])
    }
}

@Test func leastConnBreaksTiesAtRandom() {
    let ordering = UpstreamOrdering(.leastConnections)
    let busy = Member(name: "c", inFlight: 9)
    var firsts: [String: Int] = [:]
    for _ in 0..<400 {
        let order = ordering.order([a, b, busy])
        #expect(order.last == busy)
        firsts[order[0].name, default: 0] += 1
    }
    #expect(firsts["a", default: 0] > 100 && firsts["b", default: 0] > 100, "\(firsts)")
}

@Test func weightedFollowsTheWeights() {
    let heavy = Member(name: "a", weight: 3), light = Member(name: "b", weight: 1)
    let spare = Member(name: "c", weight: 0)
    let draws = 20_000
    let counts = firstCounts(UpstreamOrdering(.weighted), [heavy, light, spare], draws: draws)
    let heavyShare = Double(counts["a", default: 0]) / Double(draws)
    let lightShare = Double(counts["b", default: 0]) / Double(draws)
    // The standard deviation of each share is about 0.003 here; 0.02 is over 6 of them.
    #expect(abs(heavyShare - 0.75) < 0.02, "weight 3 went first \(heavyShare) of the time")
    #expect(abs(lightShare - 0.25) < 0.02, "weight 1 went first \(lightShare) of the time")
    #expect(counts["c", default: 0] == 0, "weight 0 must never go first while others exist")
}

@Test func weightZeroIsOnlyFailover() {
    let ordering = UpstreamOrdering(.weighted)
    let spareOne = Member(name: "x", weight: 0), spareTwo = Member(name: "y", weight: 0)
    for _ in 0..<200 {
        let order = ordering.order([spareOne, a, spareTwo, b])
        #expect(Set(order.prefix(2).map(\.name)) == ["a", "b"])
        #expect(Set(order.suffix(2).map(\.name)) == ["x", "y"])
    }
}

@Test func singleUpstreamIsReturnedAsIs() {
    for policy in LoadBalancingPolicy.allCases {
        #expect(UpstreamOrdering(policy).order([a]) == [a])
    }
}

@Test func leastOutstandingPrefersTheIdleThenTheFastest() {
    var fast = Member(name: "fast"), slow = Member(name: "slow"), busy = Member(name: "busy")
    fast.latency = 1_000_000
    slow.latency = 50_000_000
    busy.latency = 100
    busy.inFlight = 3
    let ordering = UpstreamOrdering(.leastOutstanding)
    #expect(ordering.order([slow, fast]).map(\.name) == ["fast", "slow"])
    #expect(ordering.order([fast, slow]).map(\.name) == ["fast", "slow"])
    #expect(ordering.order([busy, slow, fast]).map(\.name) == ["fast", "slow", "busy"])
    // Fewer in flight wins over latency; equal loads and latencies keep the configured order.
    slow.inFlight = 0
    fast.inFlight = 1
    #expect(ordering.order([fast, slow]).map(\.name) == ["slow", "fast"])
    let (x, y) = (Member(name: "x"), Member(name: "y"))
    #expect(ordering.order([x, y, c]).map(\.name) == ["x", "y", "c"])
}
