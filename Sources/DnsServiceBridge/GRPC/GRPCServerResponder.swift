import CGRPC
import Synchronization

/// The one way to finish a server call: a reply message or an error status, sent exactly once.
/// If the handler drops it without replying, the call is ended with UNAVAILABLE so gRPC core frees it.
/// A call the client gave up on (`isCancelled`) still takes a reply, which goes nowhere.
public final class GRPCServerResponder: Sendable {
    private let call: ServerCallHandle
    private let gate: QueueGate
    private let queue: CompletionQueue
    /// Which of the server's completion queues serves this call (its handler runs on that queue's thread).
    public let queueIndex: Int
    private let replied = Atomic<Bool>(false)
    private let end: ServerCallEnd

    init(call: ServerCallHandle, gate: QueueGate, queue: CompletionQueue, queueIndex: Int, end: ServerCallEnd) {
        self.call = call
        self.gate = gate
        self.queue = queue
        self.queueIndex = queueIndex
        self.end = end
    }

    /// Whether the client cancelled the call, or its deadline passed, before the reply: work for it can stop.
    public var isCancelled: Bool { end.isCancelled }

    /// The client's address as gRPC core names it (`ipv4:127.0.0.1:5353`, `ipv6:[::1]:5353`); empty when unknown.
    public var peer: String { call.peer }

    /// The value of the request's metadata entry `key` (lowercase); nil when the client sent none.
    public func metadata(_ key: String) -> String? { call.metadata(key) }

    /// Replies with a message and status OK.
    public func reply(_ message: [UInt8]) {
        send(message: message, status: .ok, details: nil)
    }

    /// Ends the call with a non-OK status and a human-readable message.
    public func fail(_ status: GRPCStatusCode, _ details: String) {
        send(message: nil, status: status, details: details)
    }

    /// Runs `work` on the completion-queue thread (at once when already there): replies sent from there go out
    /// without a hand-over each, so a caller with many replies ready hands them over once.
    public func onQueueThread(_ work: @escaping @Sendable () -> Void) {
        if queue.isCurrentThread { return work() }
        let handedOver = gate.ifOpen { call.onQueueThread(work) }
        if !handedOver { work() }
    }

    private func send(message: [UInt8]?, status: GRPCStatusCode, details: String?) {
        guard replied.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        Self.start(call, gate: gate, queue: queue, message: message, status: status, details: details,
                   onFinished: end.replied)
    }

    /// Sends at once on the completion-queue thread; from any other thread, hands the send over to it first.
    private static func start(_ call: ServerCallHandle, gate: QueueGate, queue: CompletionQueue, message: [UInt8]?,
                              status: GRPCStatusCode, details: String?, onFinished: @escaping @Sendable () -> Void) {
        if queue.isCurrentThread {
            send(call, gate: gate, message: message, status: status, details: details, onFinished: onFinished)
        } else {
            sendFromQueueThread(call, gate: gate, message: message, status: status, details: details,
                                onFinished: onFinished)
        }
    }

    /// After shutdown the call was already cancelled by gRPC core: nothing to send, only to count it finished.
    private static func send(_ call: ServerCallHandle, gate: QueueGate, message: [UInt8]?, status: GRPCStatusCode,
                             details: String?, onFinished: @escaping @Sendable () -> Void) {
        let started = gate.ifOpen {
            call.reply(message: message, status: status, details: details, onFinished: onFinished)
        }
        if !started { onFinished() }
    }

    /// A reply from an event loop starts on the completion-queue thread, the thread that reads the call's
    /// connection. Started from the loop, gRPC core ran the write there, taking the transport from the queue's
    /// thread and back for every reply; handing it over (a batch of no operations completes at once on the
    /// queue) gave 11-17% more calls a second under h2load (bench/compare.py, 3 runs each).
    private static func sendFromQueueThread(_ call: ServerCallHandle, gate: QueueGate, message: [UInt8]?,
                                            status: GRPCStatusCode, details: String?,
                                            onFinished: @escaping @Sendable () -> Void) {
        let handedOver = gate.ifOpen {
            call.onQueueThread {
                send(call, gate: gate, message: message, status: status, details: details, onFinished: onFinished)
            }
        }
        if !handedOver { onFinished() }
    }

    deinit {
        if !replied.load(ordering: .acquiring) {
            Self.start(call, gate: gate, queue: queue, message: nil, status: .unavailable,
                       details: "the server dropped the call", onFinished: end.replied)
        }
    }
}

/// Owns one `cgrpc_server_call` from the moment it is requested until its reply batch completes.
final class ServerCallHandle: @unchecked Sendable {
    // Touched by one thread at a time: the request's completion, then the single reply, then its completion.
    let pointer: OpaquePointer

    init() throws(GRPCServerError) {
        guard let pointer = cgrpc_server_call_create() else { throw .outOfMemory }
        self.pointer = pointer
    }

    var payload: [UInt8]? {
        guard cgrpc_server_call_has_payload(pointer) != 0 else { return nil }
        return cgrpc_server_call_copy_payload(pointer).consumeIntoArray()
    }

    var method: String { cgrpc_server_call_copy_method(pointer).consumeIntoString() }

    var peer: String { cgrpc_server_call_copy_peer(pointer).consumeIntoString() }

    func metadata(_ key: String) -> String? {
        let value = cgrpc_server_call_copy_metadata(pointer, key)
        guard value.data != nil else { return nil }
        return value.consumeIntoString()
    }

    /// Runs `work` on the call's completion-queue thread, or here if gRPC core refuses the empty batch.
    func onQueueThread(_ work: @escaping () -> Void) {
        let tag = CompletionTag.make { _ in work() }
        if cgrpc_server_call_notify(pointer, tag) != GRPC_CALL_OK {
            CompletionTag.discard(tag)
            work()
        }
    }

    /// Runs `onEnd` when the call ends for the client: `cancelled` when that was before its status went out
    /// (a cancel, a passed deadline, a lost connection). Started when the call arrives, before any reply.
    func watchClose(_ onEnd: @escaping (_ cancelled: Bool) -> Void) {
        let tag = CompletionTag.make { _ in
            withExtendedLifetime(self) { onEnd(cgrpc_server_call_was_cancelled(self.pointer) != 0) }
        }
        if cgrpc_server_call_watch_close(pointer, tag) != GRPC_CALL_OK { CompletionTag.discard(tag) }
    }

    func reply(message: [UInt8]?, status: GRPCStatusCode, details: String?,
               onFinished: @escaping @Sendable () -> Void) {
        let tag = CompletionTag.make { _ in
            // Keep the handle alive until gRPC core is done with the batch's buffers.
            withExtendedLifetime(self) { onFinished() }
        }
        let error = (message ?? []).withUnsafeBufferPointer { buffer in
            cgrpc_server_call_reply(pointer, message == nil ? 0 : 1, buffer.baseAddress, buffer.count,
                                    status.cValue, details, tag)
        }
        if error != GRPC_CALL_OK {
            CompletionTag.discard(tag)
            onFinished()
        }
    }

    deinit { cgrpc_server_call_destroy(pointer) }
}
