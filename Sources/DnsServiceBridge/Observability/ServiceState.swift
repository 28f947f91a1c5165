import Synchronization

/// The daemon's life as the health and readiness endpoints report it: starting, serving, lame duck (shutdown
/// has begun but listeners still answer), stopping.
public final class ServiceState: Sendable {
    /// Where the process is in its life.
    public enum Phase: Sendable, Equatable {
        case starting, serving, lameDuck, stopping
    }

    private struct State {
        var phase = Phase.starting
        var readiness: (@Sendable () -> Bool)?
    }

    private let state = Mutex(State())

    public init() {}

    public var phase: Phase { state.withLock { $0.phase } }

    /// The first listeners are about to take traffic: the gRPC health service says SERVING from the first call it
    /// can answer (readiness stays unknown, so not ready, until `serving(readiness:)`).
    public func listening() {
        state.withLock { state in
            if state.phase == .starting { state.phase = .serving }
        }
    }

    /// The server instance is up; `readiness` says whether its upstreams can answer (checked per request).
    /// A reload calls it again with the new instance's check.
    public func serving(readiness: @escaping @Sendable () -> Bool) {
        state.withLock { state in
            state.readiness = readiness
            if state.phase == .starting { state.phase = .serving }
        }
    }

    /// Shutdown began: readiness and the gRPC health service say no from now on, `/health` still says OK.
    public func enterLameDuck() {
        state.withLock { state in
            if state.phase == .starting || state.phase == .serving { state.phase = .lameDuck }
        }
    }

    /// The listeners are being closed.
    public func enterStopping() {
        state.withLock { $0.phase = .stopping }
    }

    /// Whether new traffic is welcome: serving, and the instance's readiness check passes.
    public var isReady: Bool {
        let (phase, readiness) = state.withLock { ($0.phase, $0.readiness) }
        guard phase == .serving, let readiness else { return false }
        return readiness()
    }

    /// Whether the gRPC health service reports SERVING: listeners up and shutdown not begun.
    public var isServing: Bool { phase == .serving }
}
