import Dispatch
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Catches SIGTERM/SIGINT from the first moment, so a stop request that arrives while listeners are still
/// binding (before the service group traps signals itself) is not lost to the default action (death by
/// signal): it becomes a graceful shutdown as soon as the group exists.
final class StopSignals: Sendable {
    private struct State {
        var requested = false
        var group: ServiceGroup?
    }

    private let state = Mutex(State())
    // Dispatch sources are thread-safe; they live as long as this object.
    nonisolated(unsafe) private var sources: [any DispatchSourceSignal] = []

    init() {
        let queue = DispatchQueue(label: "dnsgrpcd.stop-signals")
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { [weak self] in self?.caught() }
            source.resume()
            sources.append(source)
        }
    }

    private func caught() {
        let group = state.withLock { state -> ServiceGroup? in
            state.requested = true
            return state.group
        }
        if let group { Task { await group.triggerGracefulShutdown() } }
    }

    /// From now on a stop signal shuts `group` down; one that came earlier does so now.
    func attach(_ group: ServiceGroup) async {
        let requested = state.withLock { state -> Bool in
            state.group = group
            return state.requested
        }
        if requested { await group.triggerGracefulShutdown() }
    }

    deinit {
        sources.forEach { $0.cancel() }
    }
}
