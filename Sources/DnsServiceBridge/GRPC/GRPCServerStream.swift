import CGRPC
import Dispatch
import Synchronization

/// One call of a streaming method, from its arrival to its status, and the owner of its `cgrpc_stream_call`.
/// It reads one request at a time, hands it to the handler, sends what the handler returns, and only then reads
/// the next: a client that sends faster than it reads our replies is held back by HTTP/2 flow control, not
/// buffered. The client's half-close ends the call with OK; a stream over its `GRPCStreamLimits` ends with
/// RESOURCE_EXHAUSTED; one that goes quiet for the idle timeout, dies or is cancelled is cancelled and leaves
/// service at once.
final class GRPCServerStream: @unchecked Sendable {
    // Every batch of the call completes on its completion queue, so `messages`, `bytes` and `finished` are
    // touched only on that queue's thread (checked in debug builds). gRPC core makes `pointer` safe to cancel
    // from any thread; the idle watch, on a dispatch thread, reads only the atomics.
    let pointer: OpaquePointer
    private let handler: GRPCServer.StreamHandler
    private let limits: GRPCStreamLimits
    private let gate: QueueGate
    private let queue: CompletionQueue
    private var messages = 0
    private var bytes = 0
    private var finished = false
    /// Requests read so far, for the idle watch to see progress.
    private let activity = Atomic<Int>(0)
    private let ended = Atomic<Bool>(false)
    private let onClose: @Sendable (_ cancelled: Bool) -> Void
    private let onStatusSent: @Sendable (GRPCStatusCode) -> Void

    /// A stream to request from gRPC core. `onClose` runs when the call ends for the client (`cancelled` when
    /// that was before our status went out) or when we give it up; `onStatusSent` with its status once that went out.
    init(handler: @escaping GRPCServer.StreamHandler, limits: GRPCStreamLimits, gate: QueueGate,
         queue: CompletionQueue, onClose: @escaping @Sendable (_ cancelled: Bool) -> Void,
         onStatusSent: @escaping @Sendable (GRPCStatusCode) -> Void) throws(GRPCServerError) {
        guard let pointer = cgrpc_stream_call_create() else { throw .outOfMemory }
        self.pointer = pointer
        self.handler = handler
        self.limits = limits
        self.gate = gate
        self.queue = queue
        self.onClose = onClose
        self.onStatusSent = onStatusSent
    }

    deinit { cgrpc_stream_call_destroy(pointer) }

    /// Asks gRPC core for the next call of a streaming method; `tag` completes when one arrives.
    func request(server: OpaquePointer, method: UnsafeMutableRawPointer, tag: UnsafeMutableRawPointer)
        -> grpc_call_error {
        cgrpc_stream_call_request(pointer, server, method, queue.pointer, tag)
    }

    /// Serves the call that arrived (on its completion-queue thread).
    func serve() {
        assert(queue.isCurrentThread)
        let watching = start({ cgrpc_stream_call_watch_close($0, $1) }) { [self] _ in
            ended.store(true, ordering: .releasing)
            self.onClose(cgrpc_stream_call_was_cancelled(pointer) != 0)
        }
        guard watching, start({ cgrpc_stream_call_send_initial_metadata($0, $1) }, then: { _ in }) else {
            return abandon()
        }
        watchIdle(seen: 0)
        readNext()
    }

    private func readNext() {
        assert(queue.isCurrentThread)
        guard !finished else { return }
        let reading = start({ cgrpc_stream_call_recv_message($0, $1) }) { [self] success in received(success) }
        if !reading { abandon() }
    }

    private func received(_ success: Bool) {
        assert(queue.isCurrentThread)
        // A failed read: the call was cancelled, its deadline passed or its connection went.
        guard success else { return abandon() }
        guard cgrpc_stream_call_has_message(pointer) != 0 else { return finish(.ok, "") }
        let length = cgrpc_stream_call_message_length(pointer)
        guard messages < limits.messages else {
            return finish(.resourceExhausted, "a stream takes at most \(limits.messages) requests; open a new one")
        }
        guard length <= limits.bytes - bytes else {
            return finish(.resourceExhausted, "a stream takes at most \(limits.bytes) request bytes; open a new one")
        }
        messages += 1
        bytes += length
        activity.add(1, ordering: .relaxed)
        let request = [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
            count = buffer.baseAddress.map { cgrpc_stream_call_take_message(pointer, $0, length) } ?? 0
        }
        switch handler(request) {
        case .respond(let replies): send(replies[...])
        case .finish(let status, let details): finish(status, details)
        }
    }

    /// Sends one reply at a time (gRPC core takes one message batch in flight per call), then reads on.
    private func send(_ replies: ArraySlice<[UInt8]>) {
        assert(queue.isCurrentThread)
        guard let reply = replies.first else { return readNext() }
        let sending = start({ call, tag in
            reply.withUnsafeBufferPointer { cgrpc_stream_call_send_message(call, $0.baseAddress, $0.count, tag) }
        }) { [self] success in
            if success { send(replies.dropFirst()) } else { abandon() }
        }
        if !sending { abandon() }
    }

    private func finish(_ status: GRPCStatusCode, _ details: String) {
        assert(queue.isCurrentThread)
        guard !finished else { return }
        finished = true
        let onStatusSent = onStatusSent
        let sending = start({ cgrpc_stream_call_send_status($0, status.cValue, details, $1) }) { _ in
            onStatusSent(status)
        }
        if !sending { abandon() }
    }

    /// Gives the call up: cancelled for the client, out of service now (the close watch, when it completes,
    /// finds it already out).
    private func abandon() {
        finished = true
        cancel()
    }

    private func cancel() {
        ended.store(true, ordering: .releasing)
        _ = gate.ifOpen { cgrpc_stream_call_cancel(pointer) }
        onClose(true)
    }

    /// Starts one batch through the gate; false (the tag discarded) when the queue is closed or gRPC core refused.
    private func start(_ operation: (OpaquePointer, UnsafeMutableRawPointer) -> grpc_call_error,
                       then: @escaping (_ success: Bool) -> Void) -> Bool {
        let tag = CompletionTag.make { success in withExtendedLifetime(self) { then(success) } }
        var error = GRPC_CALL_ERROR
        let open = gate.ifOpen { error = operation(pointer, tag) }
        guard open, error == GRPC_CALL_OK else {
            CompletionTag.discard(tag)
            return false
        }
        return true
    }

    /// Cancels the stream when no request was read for a whole idle timeout. Holds the stream weakly: once its
    /// batches are done it goes, and the watch with it.
    private func watchIdle(seen: Int) {
        let timeout = limits.idleTimeout.components
        let nanoseconds = timeout.seconds * 1_000_000_000 + timeout.attoseconds / 1_000_000_000
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) { [weak self] in
            guard let self, !ended.load(ordering: .acquiring) else { return }
            let now = activity.load(ordering: .relaxed)
            if now == seen { cancel() } else { watchIdle(seen: now) }
        }
    }
}
