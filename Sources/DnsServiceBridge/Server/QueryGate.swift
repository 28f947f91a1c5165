import NIOCore
import Synchronization

/// Queries in flight across one server instance's listeners, and whether it is draining; shutdown waits on it.
final class InFlightQueries: Sendable {
    private let count = Atomic<Int>(0)
    private let draining = Atomic<Bool>(false)

    var current: Int { count.load(ordering: .acquiring) }
    var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Takes a query in unless draining.
    func enter() -> Bool {
        // Count first, then look: a query counted before drain() is always waited for.
        count.add(1, ordering: .acquiringAndReleasing)
        guard !draining.load(ordering: .acquiring) else {
            count.subtract(1, ordering: .acquiringAndReleasing)
            return false
        }
        return true
    }

    func leave() { count.subtract(1, ordering: .acquiringAndReleasing) }

    /// From now on queries are turned away.
    func drain() { draining.store(true, ordering: .releasing) }

    /// Waits until nothing is in flight, up to `limit`; returns whether it got there.
    func waitUntilIdle(upTo limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while current > 0 {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }
}

/// In front of one listener's router: counts the query in flight, or answers REFUSED once shutdown began
/// (the client moves on to another server at once instead of timing out).
struct QueryGate: QueryHandler {
    let next: any QueryHandler
    let inFlight: InFlightQueries

    func handle(_ query: DNSMessage, context: QueryContext) -> EventLoopFuture<DNSMessage> {
        guard inFlight.enter() else {
            return context.eventLoop.makeSucceededFuture(query.errorReply(.refused))
        }
        let reply = next.handle(query, context: context)
        reply.whenComplete { [inFlight] _ in inFlight.leave() }
        return reply
    }
}
