import CGRPC
import Foundation
import Synchronization

/// Wakes a gRPC completion-queue thread that waits in gRPC core while its relay's exchanges are in flight, as soon
/// as one of the upstream sockets has a reply. gRPC core waits on its own descriptors only, so before it waits the
/// queue thread arms the doorbell with the sockets to watch and a way to wake it (a batch of no operations on a call
/// still waiting, which completes on the call's queue at once); the doorbell's thread waits on those sockets and
/// rings once. Under load the queue thread reads the replies itself between batches and seldom waits, so the
/// doorbell seldom rings.
final class RelayDoorbell: Sendable {
    private struct Armed {
        let sockets: [Int32]
        let ring: @Sendable () -> Void
    }

    private let armed = Mutex<Armed?>(nil)
    /// Readable after each `arm` (and on `stop`), so the doorbell's wait takes up the new sockets at once.
    private let rearmed: OwnedDescriptor
    private let stopping = Atomic<Bool>(false)

    /// nil when the system gives no eventfd.
    init?() {
        let fd = cgrpc_wakeup_create()
        guard fd >= 0 else { return nil }
        rearmed = OwnedDescriptor(fd)
        let thread = Thread { [self] in
            Thread.current.name = "relay-doorbell"
            // The doorbell matters only while the queue thread sleeps. Woken under SCHED_BATCH, it does not preempt
            // a queue thread that is busy (and may hold the doorbell's lock, or be about to read the reply itself);
            // it runs when that thread waits.
            _ = cgrpc_thread_yield_on_wakeup()
            run()
        }
        thread.start()
    }

    /// Rings `ring` once, from the doorbell's thread, when any of `sockets` becomes readable (at once if one is).
    func arm(sockets: [Int32], ring: @escaping @Sendable () -> Void) {
        armed.withLock { $0 = Armed(sockets: sockets, ring: ring) }
        _ = rearmed.withDescriptor { cgrpc_wakeup_signal($0) }
    }

    /// Takes back an `arm` that has not rung (the queue thread is awake and reads the sockets itself).
    func disarm() {
        armed.withLock { $0 = nil }
    }

    /// Ends the doorbell's thread (without waiting for it).
    func stop() {
        stopping.store(true, ordering: .relaxed)
        disarm()
        _ = rearmed.withDescriptor { cgrpc_wakeup_signal($0) }
    }

    private func run() {
        defer { rearmed.close() }
        while !stopping.load(ordering: .relaxed) {
            let sockets = armed.withLock { $0?.sockets } ?? []
            // Bounded, so that a stop is noticed even if its signal were lost.
            let ready = DatagramReadiness.wait(for: [rearmed.withDescriptor { $0 } ?? -1] + sockets, timeoutMS: 200)
            if ready.first == true { _ = rearmed.withDescriptor { cgrpc_wakeup_drain($0) } }
            guard ready.dropFirst().contains(true) else { continue }
            // Disarmed as it rings: until the queue thread arms it again, a socket it has not read yet stays
            // readable and must not ring again (nor spin this thread).
            let ring = armed.withLock { state -> (@Sendable () -> Void)? in
                defer { state = nil }
                return state?.ring
            }
            ring?()
        }
    }
}
