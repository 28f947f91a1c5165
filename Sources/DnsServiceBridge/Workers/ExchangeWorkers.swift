import Logging
import NIOCore
import Synchronization

/// A server instance's exchange workers: the UDP exchanges that event loops make (a walk driven there for a TCP or
/// DoT client, a health check, a readiness probe) go to one of them, to leave on that worker's lanes, so that a UDP
/// exchange has one implementation whichever thread asks for it. One worker per event loop, taken in turn.
final class ExchangeWorkers: Sendable {
    private let inboxes: [WorkerInbox]
    private let threads: WorkerThreads
    private let next = Atomic<Int>(0)

    /// nil when an inbox cannot be had.
    init?(count: Int, logger: Logger) {
        var inboxes: [WorkerInbox] = []
        for _ in 0..<max(1, count) {
            guard let inbox = WorkerInbox() else {
                inboxes.forEach { $0.close() }
                return nil
            }
            inboxes.append(inbox)
        }
        let made = inboxes
        self.inboxes = made
        threads = WorkerThreads(name: "udp-exchange", count: made.count, logger: logger) { index in
            Worker(plan: nil, listener: nil, inbox: made[index])
        }
    }

    /// Sends `query` to `target` and completes (on `loop`) with the reply, its ID the query's, or an `ExchangeError`.
    func exchange(_ query: DNSMessage, to target: UDPLane.Target, deadline: NIODeadline, on loop: any EventLoop)
        -> EventLoopFuture<DNSMessage> {
        let promise = loop.makePromise(of: DNSMessage.self)
        let index = Int(UInt(bitPattern: next.add(1, ordering: .relaxed).oldValue) % UInt(inboxes.count))
        inboxes[index].post(WorkerInbox.Exchange(target: target, query: query, deadline: deadline, promise: promise))
        return promise.futureResult
    }

    /// Stops the workers; exchanges in flight fail.
    func close() async {
        await threads.close()
        inboxes.forEach { $0.close() }
    }
}
