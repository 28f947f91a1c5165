import NIOCore
import Synchronization

/// One upstream's health as CoreDNS's forward keeps it: consecutive failed checks, reset by any answer.
/// With proxy's `fail_timeout`, failed exchanges also count, each for that long.
final class UpstreamHealth: Sendable {
    private struct State {
        var failedChecks = 0
        var recentFailures: [NIODeadline] = []
        var checking = false
    }

    private let state = Mutex(State())
    let maxFails: Int
    let failTimeout: TimeAmount?

    init(maxFails: Int, failTimeout: TimeAmount?) {
        self.maxFails = maxFails
        self.failTimeout = failTimeout
    }

    /// Down means: no queries, unless every upstream is down (then one is sprayed at random).
    var isDown: Bool {
        guard maxFails > 0 else { return false }
        let now = NIODeadline.now()
        return state.withLock { state in
            if let failTimeout {
                state.recentFailures.removeAll { now - $0 >= failTimeout }
            }
            return state.failedChecks + state.recentFailures.count >= maxFails
        }
    }

    var failedChecks: Int { state.withLock { $0.failedChecks } }

    /// Records a failed exchange; returns true when a health check loop should start (none is running).
    func exchangeFailed() -> Bool {
        guard maxFails > 0 else { return false }
        return state.withLock { state in
            if failTimeout != nil { state.recentFailures.append(.now()) }
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
                return false
            }
            state.failedChecks += 1
            return true
        }
    }

    /// Stops checking (shutdown).
    func stopChecking() {
        state.withLock { $0.checking = false }
    }
}
