/// The datagram relay of a gRPC listener whose block only forwards over `multiplex_udp` (`UDPRelayPlan`), run by the
/// gRPC server's completion-queue thread itself: a call's query leaves for its upstream from the thread that read the
/// call, and replies are read and answered between batches of completions, so a call crosses no thread on its way.
/// Handed to a relay thread of its own and back instead, every batch of calls cost two thread switches on a shared
/// core, an eventfd and a batch of no operations (bench/README.md has the measurements).
///
/// When the queue thread has nothing else to do while exchanges are in flight, it keeps looking for their replies
/// for `lookAgainFor` (a loopback exchange takes tens of microseconds), then waits in gRPC core with the doorbell
/// armed to wake it when a reply comes.
///
/// Used on the completion-queue thread only: `forward` from the call handlers, `turn` between batches.
final class QueueThreadRelay: @unchecked Sendable {
    /// How long the queue thread keeps looking for replies after the last one came (or the last query left) before
    /// it leaves the watching to the doorbell.
    static let lookAgainFor: Duration = .microseconds(50)

    private let worker: UDPRelayWorker
    private let doorbell: RelayDoorbell
    private let clock = ContinuousClock()
    private var lastProgress: ContinuousClock.Instant
    private var forwardedSinceTurn = false

    /// nil when the relay's buffers or the doorbell's eventfd cannot be had.
    init?(plan: UDPRelayPlan) {
        guard let worker = UDPRelayWorker(plan: plan, listener: nil), let doorbell = RelayDoorbell() else { return nil }
        self.worker = worker
        self.doorbell = doorbell
        lastProgress = clock.now
    }

    /// Takes a call's query; it leaves at the end of the batch (`turn`).
    func forward(_ query: DNSMessage, call: RelayCall) {
        worker.forward(query, from: .call(call))
        forwardedSinceTurn = true
    }

    /// Sends what the batch forwarded, answers the replies that have come, and says how long the queue thread may
    /// wait (see `CompletionQueue.AfterBatch`). When the queue ends, lets go of what is still in flight.
    func turn(queueEnding: Bool) -> Duration? {
        doorbell.disarm()
        guard !queueEnding else {
            worker.abandon()
            doorbell.stop()
            return nil
        }
        let read = worker.turn()
        guard worker.isWaiting else { return nil }
        let now = clock.now
        if read > 0 || forwardedSinceTurn { lastProgress = now }
        forwardedSinceTurn = false
        if now - lastProgress < Self.lookAgainFor { return .zero }
        if let call = worker.aWaitingCall {
            doorbell.arm(sockets: worker.waitingSockets) { call.onQueueThread {} }
        }
        // Woken by a reply, a call, or the next sweep for exchanges past their deadline.
        return worker.untilNextSweep
    }

    /// Stops the doorbell of a relay that never served (its listener did not start).
    func stop() {
        doorbell.stop()
    }
}
