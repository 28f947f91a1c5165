import DnsServiceBridge
import Logging
import ServiceLifecycle

/// The running daemon as a swift-service-lifecycle service: serves until graceful shutdown (SIGTERM/SIGINT),
/// then keeps answering through the `lameduck` period (readiness and gRPC health already say no), then stops
/// taking queries, answers those in flight (up to the grace period) and closes everything.
struct DaemonService: Service {
    /// Holds the running instance, which a reload replaces.
    let reloader: ConfigurationReloader
    let endpoints: OperationsEndpoints
    let state: ServiceState
    let gracePeriod: Duration
    /// SIGHUP, taken over before start-up.
    let reloads: AsyncStream<Void>
    /// Told when shutdown begins (systemd's STOPPING=1); nil when not started by systemd.
    let notifier: SystemdNotifier?
    let logger: Logger
    /// Called on SIGHUP.
    let onReload: @Sendable () async -> Void

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [onReload, reloads] in
                for await _ in reloads { await onReload() }
            }
            // Throws only when the task is cancelled, which is a shutdown too.
            try? await gracefulShutdown()
            group.cancelAll()
        }
        notifier?.stopping()
        let lameDuck = endpoints.lameDuck
        logger.info("stopping", metadata: ["lameduck": "\(lameDuck)", "grace": "\(gracePeriod)"])
        state.enterLameDuck()
        if lameDuck > .zero {
            // Not cancellable on purpose: the lame duck period is what the operator asked for.
            try? await Task.sleep(for: lameDuck)
        }
        state.enterStopping()
        await reloader.stop(gracePeriod: gracePeriod)
        await endpoints.close()
    }
}
