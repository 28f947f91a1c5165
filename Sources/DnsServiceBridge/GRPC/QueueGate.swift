import Synchronization

/// Whether operations may still be started on a completion queue. gRPC core aborts the process when a batch is
/// started after its queue shut down, and replies can arrive late (an upstream answering after the shutdown
/// grace period), so every start goes through `ifOpen` and shutdown closes the gate first.
final class QueueGate: Sendable {
    private let open = Mutex(true)

    /// Runs `start` while the queue is open (holding the gate, so `close` waits for it); false if closed.
    func ifOpen(_ start: () -> Void) -> Bool {
        open.withLock { open in
            guard open else { return false }
            start()
            return true
        }
    }

    func close() {
        open.withLock { $0 = false }
    }
}
