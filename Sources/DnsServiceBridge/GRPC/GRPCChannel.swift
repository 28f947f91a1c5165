import CGRPC
import Synchronization

/// A gRPC core channel to one target with its own completion queue, for unary calls with deadlines.
/// gRPC core multiplexes the calls over HTTP/2 and reconnects by itself after the peer restarts.
public final class GRPCChannel: @unchecked Sendable {
    // gRPC core's channel is thread-safe; it is destroyed once, in `close()`, after the queue is drained.
    private let channel: OpaquePointer
    private let queue: CompletionQueue
    private let closed = Atomic<Bool>(false)
    public let target: String

    /// - Parameters:
    ///   - target: `HOST:PORT` (gRPC core also takes `dns:///name:port`, `ipv4:`, `unix:` forms).
    ///   - maxReconnectBackoff: the longest a restarted upstream waits to be reconnected.
    public init(target: String, security: GRPCChannelSecurity, maxReconnectBackoff: Duration = .seconds(1),
                maxReceiveMessageLength: Int = 256 * 1024) throws(GRPCCallError) {
        GRPCLibrary.retain()
        let credentials: OpaquePointer?
        var serverName: String?
        switch security {
        case .insecure:
            credentials = cgrpc_channel_credentials_create(1, nil, nil, nil)
        case .tls(let roots, let chain, let key, let override):
            credentials = cgrpc_channel_credentials_create(0, roots, key, chain)
            serverName = override
        }
        guard let credentials else {
            GRPCLibrary.release()
            throw GRPCCallError(status: .internal, details: "cannot create channel credentials for \(target)")
        }
        defer { grpc_channel_credentials_release(credentials) }
        let backoffMilliseconds = Int32(clamping: maxReconnectBackoff.components.seconds * 1000
            + maxReconnectBackoff.components.attoseconds / 1_000_000_000_000_000)
        guard let channel = cgrpc_channel_create(target, credentials, serverName, backoffMilliseconds,
                                                 Int32(clamping: maxReceiveMessageLength)) else {
            GRPCLibrary.release()
            throw GRPCCallError(status: .internal, details: "cannot create a channel to \(target)")
        }
        self.channel = channel
        self.target = target
        queue = CompletionQueue(name: "grpc-client-cq")
    }

    /// Sends `request` to `method` and calls `completion` (on the channel's queue thread) with the reply message
    /// or the call's status. The call is abandoned by gRPC core with DEADLINE_EXCEEDED after `timeout`.
    public func unaryCall(method: String, request: [UInt8], timeout: Duration,
                          completion: @escaping @Sendable (Result<[UInt8], GRPCCallError>) -> Void) {
        guard !closed.load(ordering: .acquiring) else {
            completion(.failure(GRPCCallError(status: .unavailable, details: "channel to \(target) is closed")))
            return
        }
        let call = ClientCallHandle()
        let tag = CompletionTag.make { _ in completion(call.result()) }
        var error = GRPC_CALL_OK
        let milliseconds = max(1, timeout.components.seconds * 1000
            + timeout.components.attoseconds / 1_000_000_000_000_000)
        let pointer = request.withUnsafeBufferPointer { buffer in
            cgrpc_client_call_start(channel, queue.pointer, method, milliseconds, buffer.baseAddress, buffer.count,
                                    tag, &error)
        }
        guard let pointer else {
            CompletionTag.discard(tag)
            completion(.failure(GRPCCallError(status: .internal,
                                              details: "gRPC core refused to start the call (error \(error.rawValue))")))
            return
        }
        call.pointer = pointer
    }

    /// The unary call as an async function.
    public func unaryCall(method: String, request: [UInt8], timeout: Duration) async throws(GRPCCallError)
        -> [UInt8] {
        let result = await withCheckedContinuation { continuation in
            unaryCall(method: method, request: request, timeout: timeout) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Whether gRPC core holds a ready connection (asking it to connect when idle).
    public var isReady: Bool { UInt32(bitPattern: cgrpc_channel_state(channel, 1)) == GRPC_CHANNEL_READY.rawValue }

    /// Destroys the channel: calls in flight end with CANCELLED. Safe to call more than once.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        grpc_channel_destroy(channel)
        queue.shutdownAndWait()
        GRPCLibrary.release()
    }

    deinit { close() }
}

/// Owns one `cgrpc_client_call`; read only after its batch completed.
private final class ClientCallHandle: @unchecked Sendable {
    // Set right after the batch starts, read when it completes: the completion queue orders the two.
    var pointer: OpaquePointer?

    func result() -> Result<[UInt8], GRPCCallError> {
        guard let pointer else {
            return .failure(GRPCCallError(status: .internal, details: "the call was never started"))
        }
        let status = GRPCStatusCode(rawValue: cgrpc_client_call_status(pointer).rawValue)
        guard status == .ok else {
            return .failure(GRPCCallError(status: status,
                                          details: cgrpc_client_call_copy_status_details(pointer).consumeIntoString()))
        }
        guard cgrpc_client_call_has_response(pointer) != 0 else {
            return .failure(GRPCCallError(status: .internal, details: "the server sent status OK without a message"))
        }
        return .success(cgrpc_client_call_copy_response(pointer).consumeIntoArray())
    }

    deinit { if let pointer { cgrpc_client_call_destroy(pointer) } }
}
