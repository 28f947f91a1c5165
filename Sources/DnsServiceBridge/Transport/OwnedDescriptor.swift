import CGRPC
import Synchronization

/// One file descriptor and its one owner, used under a lock: `close()` is seen by every thread at once, and a
/// closed number is never used again (the kernel hands it to the next file opened).
final class OwnedDescriptor: Sendable {
    private let descriptor: Mutex<Int32?>

    init(_ descriptor: Int32) {
        self.descriptor = Mutex(descriptor)
    }

    var isOpen: Bool { descriptor.withLock { $0 != nil } }

    /// Runs `body` with the descriptor, or returns nil once closed.
    func withDescriptor<Result: Sendable>(_ body: (Int32) -> Result) -> Result? {
        descriptor.withLock { fd -> Result? in
            guard let fd else { return nil }
            return body(fd)
        }
    }

    func close() {
        descriptor.withLock { fd in
            if let open = fd { _ = cgrpc_dgram_close(open) }
            fd = nil
        }
    }

    deinit {
        close()
    }
}
