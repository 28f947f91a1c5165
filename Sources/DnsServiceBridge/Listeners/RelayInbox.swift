import CGRPC
import Synchronization

/// Queries handed to a relay thread from another thread (the gRPC completion queue's): gathered under a lock and
/// announced once per batch through an eventfd in the relay's wait, so a batch of calls costs one wake-up.
final class RelayInbox: Sendable {
    /// One handed-over query and where its answer goes.
    struct Job: Sendable {
        let query: DNSMessage
        let client: RelayClient
    }

    private let jobs = Mutex<(queued: [Job], announced: Bool)>(([], false))
    private let wakeup: OwnedDescriptor

    /// nil when the system gives no eventfd.
    init?() {
        let fd = cgrpc_wakeup_create()
        guard fd >= 0 else { return nil }
        wakeup = OwnedDescriptor(fd)
    }

    /// Queues a query; it is announced by the next `announce()`.
    func submit(_ job: Job) {
        jobs.withLock { $0.queued.append(job) }
    }

    /// Wakes the relay thread if queries wait that it was not yet told about.
    func announce() {
        let wake = jobs.withLock { state -> Bool in
            guard !state.queued.isEmpty, !state.announced else { return false }
            state.announced = true
            return true
        }
        if wake { _ = wakeup.withDescriptor { cgrpc_wakeup_signal($0) } }
    }

    /// Everything queued, for the relay thread once its wait says the inbox is readable.
    func take() -> [Job] {
        _ = wakeup.withDescriptor { cgrpc_wakeup_drain($0) }
        return jobs.withLock { state in
            state.announced = false
            var taken: [Job] = []
            swap(&taken, &state.queued)
            return taken
        }
    }

    /// The eventfd, for the relay's wait (nil once closed).
    var descriptor: Int32? { wakeup.withDescriptor { $0 } }

    func close() {
        wakeup.close()
    }
}
