import NIOCore
import Synchronization

/// One upstream's health as CoreDNS's forward keeps it: consecutive failed health checks, reset by any answer;
/// `maxFails` of them mark it down (0: never down, never checked). With proxy's `fail_timeout`, failed
/// exchanges also count, each for that long, so a burst of failures takes an upstream out for `fail_timeout`.
///
/// CoreDNS's code marks down on *more* than max_fails failed checks; we follow its documentation ("the number
/// of subsequent failed health checks needed"), so the default 2 takes it out after the second failed check.
final class UpstreamHealth: Sendable {
    private struct State {
        var failedChecks = 0
        var recentFailures: [NIODeadline] = []
        var checking = false
    }

    private let state = Mutex(State())
    /// True while nothing has failed (no failed check, no recent failure): the usual case, which `isDown` answers
    /// with one atomic load instead of the lock, on every query's walk.
    private let clean = Atomic<Bool>(true)
    let maxFails: Int
    let failTimeout: TimeAmount?

    init(maxFails: Int, failTimeout: TimeAmount?) {
        self.maxFails = maxFails
        self.failTimeout = failTimeout
    }

    /// Down means: no queries, unless every upstream is down (then one is sprayed at random).
    var isDown: Bool { isDown(at: .now()) }

    func isDown(at now: NIODeadline) -> Bool {
        guard maxFails > 0, !clean.load(ordering: .acquiring) else { return false }
        return state.withLock { state in
            if let failTimeout {
                state.recentFailures.removeAll { now - $0 >= failTimeout }
            }
            if state.failedChecks == 0 && state.recentFailures.isEmpty { clean.store(true, ordering: .releasing) }
            return state.failedChecks + state.recentFailures.count >= maxFails
        }
    }

    var failedChecks: Int { state.withLock { $0.failedChecks } }

    /// Whether a health check loop is running.
    var isChecking: Bool { state.withLock { $0.checking } }

    /// Records a failed exchange; returns true when a health check loop should start (none is running).
    func exchangeFailed(at now: NIODeadline = .now()) -> Bool {
        guard maxFails > 0 else { return false }
        return state.withLock { state in
            if let failTimeout {
                state.recentFailures.removeAll { now - $0 >= failTimeout }
                // Bounded: more than maxFails recent failures say nothing more.
                if state.recentFailures.count >= maxFails { state.recentFailures.removeFirst() }
                state.recentFailures.append(now)
                clean.store(false, ordering: .releasing)
            }
            defer { state.checking = true }
            return !state.checking
        }
    }

    /// Records a health check's outcome; returns whether checking should continue.
    func checked(healthy: Bool) -> Bool {
        state.withLock { state in
            if healthy {
                state.failedChecks = 0
                state.recentFailures.removeAll()
                state.checking = false
                clean.store(true, ordering: .releasing)
                return false
            }
            // Saturates well above any max_fails, as CoreDNS guards its counter against overflow.
            state.failedChecks = min(state.failedChecks + 1, Int(Int32.max))
            clean.store(false, ordering: .releasing)
            return true
        }
    }

    /// Stops checking (shutdown).
    func stopChecking() {
        state.withLock { $0.checking = false }
    }
}
