import CGRPC
import Foundation
import Logging

/// Tells systemd where the daemon is in its life (`Type=notify`, sd_notify(3)): `READY=1` once every listener is
/// bound, `RELOADING=1` and `READY=1` around a reload, `STOPPING=1` when shutdown begins. Without
/// `$NOTIFY_SOCKET` (not started by systemd) there is no notifier at all.
public struct SystemdNotifier: Sendable {
    private let socketPath: String
    private let logger: Logger

    /// The notifier of `$NOTIFY_SOCKET`, or nil when the variable is unset or empty.
    public init?(environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return nil }
        socketPath = path
        self.logger = logger
    }

    /// Start-up is over: the listeners take queries.
    public func ready(status: String) {
        send("READY=1\nSTATUS=\(status)\nMAINPID=\(getpid())")
    }

    /// A reload begins; `ready(status:)` ends it, whether the new configuration took over or not.
    public func reloading() {
        // systemd (Type=notify-reload) takes RELOADING=1 only with the monotonic time of the reload's start.
        send("RELOADING=1\nMONOTONIC_USEC=\(cgrpc_monotonic_usec())")
    }

    /// Shutdown begins.
    public func stopping() {
        send("STOPPING=1")
    }

    private func send(_ message: String) {
        let result = cgrpc_sd_notify(socketPath, message)
        if result != 0 {
            // Readiness is systemd's business: a lost notice is logged, never fatal.
            logger.warning("cannot notify systemd", metadata: ["socket": "\(socketPath)",
                                                                "error": "\(Errno(-result))"])
        }
    }
}
