import CGRPC
import Foundation
import Synchronization

/// A gRPC core completion queue driven by one dedicated thread that runs each completed tag's handler.
/// Handlers run on that thread, so they must be short: hand real work to an event loop.
final class CompletionQueue: @unchecked Sendable {
    // gRPC core's completion queue is thread-safe; the pointer is only destroyed after the thread has stopped.
    let pointer: OpaquePointer
    private let stopped = Mutex<Bool>(false)
    private let stoppedSignal = DispatchSemaphore(value: 0)

    init(name: String) {
        GRPCLibrary.retain()
        pointer = cgrpc_completion_queue_create()
        // The thread is the queue's only reader until shutdown; gRPC core makes the pointer safe to share.
        nonisolated(unsafe) let queue = pointer
        let signal = stoppedSignal
        let thread = Thread {
            // Named from inside: set before start, Foundation on Linux leaves the thread with a dispatch queue's name.
            Thread.current.name = name
            Self.drive(queue)
            signal.signal()
        }
        thread.name = name
        thread.start()
    }

    private static func drive(_ queue: OpaquePointer) {
        while true {
            let event = cgrpc_completion_queue_next(queue)
            switch event.type {
            case GRPC_OP_COMPLETE:
                if let tag = event.tag {
                    CompletionTag.complete(tag, success: event.success != 0)
                }
            case GRPC_QUEUE_SHUTDOWN:
                return
            default:
                continue
            }
        }
    }

    /// Shuts the queue down once every pending tag has completed, and waits for its thread to finish.
    func shutdownAndWait() {
        let first = stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        grpc_completion_queue_shutdown(pointer)
        stoppedSignal.wait()
        grpc_completion_queue_destroy(pointer)
        GRPCLibrary.release()
    }
}
