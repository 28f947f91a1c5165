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
