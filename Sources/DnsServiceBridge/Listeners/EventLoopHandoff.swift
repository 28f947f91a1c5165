import NIOCore
import Synchronization

/// Work for event loops gathered on the gRPC completion-queue thread and handed over once per batch of calls:
/// one wake-up of each loop for many calls instead of one each. On a shared core every wake-up preempted the
/// completion-queue thread, so handing calls over one by one cost a thread switch per call.
final class EventLoopHandoff: Sendable {
    private struct Work {
        let loop: any EventLoop
        let run: @Sendable () -> Void
    }

    private let pending = Mutex<[Work]>([])

    /// Queues `work` for `loop`; it runs there after the next `flush()`.
    func enqueue(on loop: any EventLoop, _ work: @escaping @Sendable () -> Void) {
        pending.withLock { $0.append(Work(loop: loop, run: work)) }
    }

    /// Hands everything queued to its loops, one task per loop.
    func flush() {
        let batch = pending.withLock { pending in
            var taken: [Work] = []
            swap(&taken, &pending)
            return taken
        }
        var byLoop: [ObjectIdentifier: [Work]] = [:]
        for work in batch { byLoop[ObjectIdentifier(work.loop), default: []].append(work) }
        for works in byLoop.values {
            works[0].loop.execute { for work in works { work.run() } }
        }
    }
}
