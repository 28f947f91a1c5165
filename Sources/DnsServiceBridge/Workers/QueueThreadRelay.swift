/// The worker of a gRPC listener's completion queue (`WorkerPlan`), run by the
/// gRPC server's completion-queue thread itself: a call's query leaves for its upstream from the thread that read the
/// call, and replies are read and answered between batches of completions, so a call crosses no thread on its way.
/// Handed to a relay thread of its own and back instead, every batch of calls cost two thread switches on a shared
/// core, an eventfd and a batch of no operations (bench/README.md has the measurements).
///
/// When the queue thread waits in gRPC core while exchanges are in flight, the doorbell wakes it as soon as a reply
/// comes; the wait is bounded by the next sweep for exchanges past their deadline.
///
/// Used on the completion-queue thread only: `forward` from the call handlers, `turn` between batches.
final class QueueThreadRelay: @unchecked Sendable {
    private let worker: Worker
    private let doorbell: RelayDoorbell

    /// One relay for each completion queue of the listener's server, as many as event loops (`plan.threads`); none
    /// when any cannot be had (the listener does not start).
    static func forEachQueue(_ plan: WorkerPlan) -> [QueueThreadRelay] {
        var relays: [QueueThreadRelay] = []
        for _ in 0..<plan.threads {
            guard let relay = QueueThreadRelay(plan: plan) else {
                relays.forEach { $0.stop() }
                return []
            }
            relays.append(relay)
        }
        return relays
    }

    /// nil when the relay's buffers or the doorbell's eventfd cannot be had.
    init?(plan: WorkerPlan) {
        guard let worker = Worker(plan: plan, listener: nil), let doorbell = RelayDoorbell() else { return nil }
        self.worker = worker
        self.doorbell = doorbell
    }

    /// Takes a call's query; it leaves at the end of the batch (`turn`).
    func forward(_ query: DNSMessage, call: RelayCall) {
        worker.forward(query, from: .call(call))
    }

    /// Sends what the batch forwarded, answers the replies that have come, and says how long the queue thread may
    /// wait (see `CompletionQueue.AfterBatch`). When the queue ends, lets go of what is still in flight.
    func turn(queueEnding: Bool) -> Duration? {
        doorbell.disarm()
        guard !queueEnding else {
            worker.abandon()
            doorbell.stop()
            QueryMetricsStore.shared.threadEnds()  // the queue's thread ends with the queue
            return nil
        }
        worker.turn()
        guard let call = worker.aWaitingCall else { return nil }
        doorbell.arm(sockets: worker.waitingSockets) { call.onQueueThread {} }
        return worker.untilNextSweep
    }

    /// Stops the doorbell of a relay that never served (its listener did not start).
    func stop() {
        doorbell.stop()
    }
}
