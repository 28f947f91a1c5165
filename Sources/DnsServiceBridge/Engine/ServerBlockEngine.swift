import NIOCore

/// One server block's part of the engine's decision, in CoreDNS's plugin order (plugin.cfg): the steps before the
/// forwarders (`errors`, `log`, `cache`, `hosts`), then the forwarders for the names their sets serve, then the
/// steps after them (`whoami`) for the names they do not, then REFUSED.
final class ServerBlockEngine: Sendable {
    enum Decision {
        /// Answered by the step at `passed` (the steps before it let the query pass) or REFUSED by the block.
        case answer(DNSMessage, passed: Int)
        /// Forwarded: every step before the forwarders let it pass.
        case forward(ForwardWalk)
        /// Dropped by the step at `passed` (the steps before it let the query pass): no reply is due.
        case drop(passed: Int)
    }

    private let before: [any QueryStep]
    let forwarder: Forwarder?
    private let after: [any QueryStep]
    /// The block's cache, whose misses in flight are shared (`MissCoalescer`).
    let cache: CachePlugin?

    init(before: [any QueryStep], forwarder: Forwarder?, after: [any QueryStep]) {
        self.before = before
        self.forwarder = forwarder
        self.after = after
        cache = before.lazy.compactMap { $0 as? CachePlugin }.first
    }

    /// Every step, to stop their background work.
    var steps: [any QueryStep] { before + after }

    func decide(_ query: DNSMessage, from client: QueryClient) -> Decision {
        for (index, step) in before.enumerated() {
            switch step.verdict(query, from: client) {
            case .pass: continue
            case .answer(let reply): return .answer(reply, passed: index)
            case .drop: return .drop(passed: index)
            }
        }
        if let walk = forwarder?.walk(query, client: client) {
            return .forward(walk)
        }
        for step in after {
            if let reply = step.answer(query, from: client) { return .answer(reply, passed: before.count) }
        }
        return .answer(query.errorReply(.refused), passed: before.count)
    }

    /// The reply after the steps that let the query pass have seen it, the last of them first.
    func completed(_ query: DNSMessage, reply: DNSMessage, passed: Int, _ outcome: QueryOutcome) -> DNSMessage {
        var reply = reply
        for step in steps(thatPassed: passed) {
            reply = step.completed(query, reply: reply, outcome)
        }
        return reply
    }

    /// Tells the steps that let a dropped query pass, the last of them first.
    func dropped(_ query: DNSMessage, passed: Int, _ outcome: QueryOutcome) {
        for step in steps(thatPassed: passed) {
            step.dropped(query, outcome)
        }
    }

    /// The first `passed` steps before the forwarders, the last of them first: the order they hear how a query
    /// they let pass ended.
    private func steps(thatPassed passed: Int) -> ReversedCollection<ArraySlice<any QueryStep>> {
        before[..<min(passed, before.count)].reversed()
    }

    /// For a forwarded query: every step before the forwarders let it pass.
    var forwardedPassed: Int { before.count }
}
