import CGRPC
import Foundation
import Synchronization

/// A gRPC core completion queue driven by one dedicated thread that runs each completed tag's handler.
/// Handlers run on that thread, so they must be short: hand real work to an event loop, preferably gathered
/// until `afterBatch` (see `init`).
final class CompletionQueue: @unchecked Sendable {
    /// Runs on the queue's thread between batches of completions, for work of its own that it looks after there.
    /// `queueEnding` is true for the last call, once the queue has shut down. It returns the longest the thread may
    /// then wait for the next completion before calling it again (nil: until a completion comes).
    typealias AfterBatch = @Sendable (_ queueEnding: Bool) -> Duration?

    // gRPC core's completion queue is thread-safe; the pointer is only destroyed after the thread has stopped.
    let pointer: OpaquePointer
    private let stopped = Mutex<Bool>(false)
    private let stoppedSignal = DispatchSemaphore(value: 0)
    /// The queue thread's pthread ID once it runs.
    private let threadID = Atomic<UInt>(0)

    /// Completions handled in one batch at most before `afterBatch` runs, so handed-over work never waits long.
    static let maxBatch = 256

    /// - Parameter afterBatch: runs on the queue's thread after each run of completions that were ready
    ///   together (at most `maxBatch`), when a wait it asked for ends without one, and once more before the
    ///   thread ends.
    init(name: String, afterBatch: AfterBatch? = nil) {
        GRPCLibrary.retain()
        pointer = cgrpc_completion_queue_create()
        // The thread is the queue's only reader until shutdown; gRPC core makes the pointer safe to share.
        nonisolated(unsafe) let queue = pointer
        let signal = stoppedSignal
        let thread = Thread { [self] in
            threadID.store(UInt(pthread_self()), ordering: .releasing)
            // Named from inside: set before start, Foundation on Linux leaves the thread with a dispatch queue's name.
            Thread.current.name = name
            // Event loops start batches on this queue and wake this thread each time one completes; on a shared
            // core, preempting the loop for each of those was a thread switch per call (about 19,000 a second under
            // h2load). Woken under SCHED_BATCH, it runs when the loop yields and takes them all at once.
            _ = cgrpc_thread_yield_on_wakeup()
            Self.drive(queue, afterBatch: afterBatch)
            signal.signal()
        }
        thread.start()
    }

    /// Whether the caller runs on the queue's thread (inside a completion's handler).
    var isCurrentThread: Bool { threadID.load(ordering: .acquiring) == UInt(pthread_self()) }

    private static func drive(_ queue: OpaquePointer, afterBatch: AfterBatch?) {
        var wait: Duration? = nil
        while true {
            var event = wait.map { cgrpc_completion_queue_next_within(queue, $0.microseconds) }
                ?? cgrpc_completion_queue_next(queue)
            var handled = 0
            while event.type != GRPC_QUEUE_TIMEOUT {
                switch event.type {
                case GRPC_OP_COMPLETE:
                    if let tag = event.tag {
                        CompletionTag.complete(tag, success: event.success != 0)
                    }
                case GRPC_QUEUE_SHUTDOWN:
                    _ = afterBatch?(true)
                    return
                default:
                    break
                }
                handled += 1
                guard handled < maxBatch else { break }
                event = cgrpc_completion_queue_poll(queue)
            }
            wait = afterBatch?(false)
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

private extension Duration {
    /// Whole microseconds (none: the wait only looks).
    var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}
