import CGRPC
import Synchronization

/// A gRPC core channel to one target with its own completion queue, for unary calls with deadlines.
/// gRPC core multiplexes the calls over HTTP/2 and reconnects by itself after the peer restarts.
public final class GRPCChannel: @unchecked Sendable {
    // gRPC core's channel is thread-safe; it is destroyed once, in `close()`, after the queue is drained.
    private let channel: OpaquePointer
    private let queue: CompletionQueue
    private let closed = Atomic<Bool>(false)
    private let gate = QueueGate()
    public let target: String

    /// How a channel connects, beyond its target and security.
    public struct Settings: Sendable {
        /// The longest a restarted upstream waits to be reconnected.
        public var maxReconnectBackoff: Duration = .seconds(1)
        public var maxReceiveMessageLength = 256 * 1024
        /// Spread calls over every address the target resolves to (gRPC core's round_robin) rather than use the
        /// first that connects (its default, pick_first).
        public var roundRobin = false
        /// HTTP/2 keepalive: a ping this often (nil: none), the connection failed when one is not answered within
        /// `keepaliveTimeout`.
        public var keepaliveInterval: Duration?
        public var keepaliveTimeout: Duration = .seconds(20)
        /// The channel's connections are its own, not shared with another channel to the same address.
        public var ownConnections = false

        public init() {}
    }

    /// - Parameters:
    ///   - target: `HOST:PORT`, or a target gRPC core resolves itself: `dns:///name:port`,
    ///     `dns://RESOLVER/name:port`, `unix:/path`.
    public init(target: String, security: GRPCChannelSecurity, settings: Settings = Settings())
        throws(GRPCCallError) {
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
        let created = (serverName ?? "").withCString { name in
            (settings.roundRobin ? "round_robin" : "").withCString { policy in
                var options = cgrpc_channel_options(
                    server_name_override: serverName == nil ? nil : name,
                    max_reconnect_backoff_ms: Int32(clamping: settings.maxReconnectBackoff.milliseconds),
                    max_receive_message_length: Int32(clamping: settings.maxReceiveMessageLength),
                    lb_policy: settings.roundRobin ? policy : nil,
                    keepalive_time_ms: Int32(clamping: settings.keepaliveInterval?.milliseconds ?? 0),
                    keepalive_timeout_ms: Int32(clamping: settings.keepaliveTimeout.milliseconds),
                    own_connections: settings.ownConnections ? 1 : 0)
                return cgrpc_channel_create(target, credentials, &options)
            }
        }
        guard let channel = created else {
            GRPCLibrary.release()
            throw GRPCCallError(status: .internal, details: "cannot create a channel to \(target)")
        }
        self.channel = channel
        self.target = target
        queue = CompletionQueue(name: "grpc-client-cq")
    }

    /// Sends `request` to `method` and calls `completion` (on the channel's queue thread) with the reply message
    /// or the call's status. The call is abandoned by gRPC core with DEADLINE_EXCEEDED after `timeout`.
    /// `metadata` (a lowercase key and its value) goes out with the request.
    public func unaryCall(method: String, request: [UInt8], timeout: Duration,
                          metadata: (key: String, value: String)? = nil,
                          completion: @escaping @Sendable (Result<[UInt8], GRPCCallError>) -> Void) {
        guard let call = ClientCallHandle() else {
            completion(.failure(GRPCCallError(status: .resourceExhausted, details: "cannot allocate a call")))
            return
        }
        let tag = CompletionTag.make { _ in completion(call.result()) }
        let milliseconds = max(1, timeout.milliseconds)
        var error = GRPC_CALL_OK
        let open = gate.ifOpen {
            error = request.withUnsafeBufferPointer { buffer in
                guard let metadata else {
                    return cgrpc_client_call_start(call.pointer, channel, queue.pointer, method, milliseconds,
                                                   buffer.baseAddress, buffer.count, nil, nil, tag)
                }
                return cgrpc_client_call_start(call.pointer, channel, queue.pointer, method, milliseconds,
                                               buffer.baseAddress, buffer.count, metadata.key, metadata.value, tag)
            }
        }
        guard open, error == GRPC_CALL_OK else {
            CompletionTag.discard(tag)
            let details = open ? "gRPC core refused to start the call (error \(error.rawValue))"
                : "channel to \(target) is closed"
            completion(.failure(GRPCCallError(status: open ? .internal : .unavailable, details: details)))
            return
        }
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
        gate.close()
        grpc_channel_destroy(channel)
        queue.shutdownAndWait()
        GRPCLibrary.release()
    }

    deinit { close() }
}

/// Owns one `cgrpc_client_call`; its results are read only after its batch completed.
private final class ClientCallHandle: @unchecked Sendable {
    // Written by gRPC core during the batch, read on the queue thread when the batch's tag completes.
    let pointer: OpaquePointer

    init?() {
        guard let pointer = cgrpc_client_call_create() else { return nil }
        self.pointer = pointer
    }

    func result() -> Result<[UInt8], GRPCCallError> {
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

    deinit { cgrpc_client_call_destroy(pointer) }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
