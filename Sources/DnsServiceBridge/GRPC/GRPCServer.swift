import CGRPC
import Synchronization

/// A gRPC server over gRPC core serving unary methods. Calls of unknown methods get UNIMPLEMENTED.
/// Calls are served by one or more completion queues, each with a thread of its own; gRPC core hands each new call
/// to one of them, so the work of reading, parsing and answering calls spreads over that many cores.
public final class GRPCServer: @unchecked Sendable {
    /// Serves one call: `request` is the request message (nil when the client sent none). The handler must
    /// eventually reply through the responder; it runs on a completion-queue thread (`responder.queueIndex` says
    /// which), so it must not block.
    public typealias UnaryHandler = @Sendable (_ request: [UInt8]?, _ responder: GRPCServerResponder) -> Void

    private struct Method: @unchecked Sendable {
        let name: String
        let registration: UnsafeMutableRawPointer  // gRPC core's handle for the registered method
        let handler: UnaryHandler
    }

    // The server and its queues are thread-safe in gRPC core; `started`/`stopping` guard the lifecycle.
    private let server: OpaquePointer
    private let queues: [CompletionQueue]
    private let methods: [Method]
    private let pendingRequestsPerMethod: Int
    private let started = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let inFlight = Atomic<Int>(0)
    private let gate = QueueGate()

    /// - Parameters:
    ///   - methods: full method names (`/package.Service/Method`) and their handlers.
    ///   - maxReceiveMessageLength: gRPC's own limit; keep it above what handlers reject themselves so the
    ///     client gets the handler's clearer status.
    ///   - pendingRequestsPerMethod: how many calls gRPC core may hand over without waiting for us (per queue).
    ///   - queues: completion queues, each with its own thread (at least 1).
    ///   - afterEachBatch: runs on a completion-queue thread (its index given) after each run of calls and
    ///     completions that arrived together, so handlers can gather work and hand it to an event loop once per
    ///     batch; what it returns bounds that thread's next wait (see `CompletionQueue.AfterBatch`).
    public init(methods: [String: UnaryHandler], maxReceiveMessageLength: Int = 256 * 1024,
                pendingRequestsPerMethod: Int = 256, queues: Int = 1,
                afterEachBatch: (@Sendable (_ queueIndex: Int, _ queueEnding: Bool) -> Duration?)? = nil) {
        GRPCLibrary.retain()
        self.queues = (0..<max(1, queues)).map { index in
            // Linux keeps 15 bytes of a thread's name and refuses a longer one.
            CompletionQueue(name: "grpc-srv-cq-\(index)",
                            afterBatch: afterEachBatch.map { after in { ending in after(index, ending) } })
        }
        let pointers: [OpaquePointer?] = self.queues.map(\.pointer)
        server = cgrpc_server_create(pointers, Int32(pointers.count), Int32(maxReceiveMessageLength))
        let server = self.server
        self.methods = methods.sorted { $0.key < $1.key }.compactMap { name, handler in
            guard let registration = cgrpc_server_register_unary_method(server, name) else { return nil }
            return Method(name: name, registration: registration, handler: handler)
        }
        self.pendingRequestsPerMethod = max(1, pendingRequestsPerMethod)
    }

    /// Calls that arrived and have not finished their reply yet.
    public var callsInFlight: Int { inFlight.load(ordering: .relaxed) }

    /// Listens on `address` (`HOST:PORT`, port 0 for any); returns the bound port.
    @discardableResult
    public func listen(on address: String, security: GRPCServerSecurity) throws(GRPCServerError) -> Int {
        guard !started.load(ordering: .acquiring) else { throw .alreadyStarted }
        let credentials: OpaquePointer?
        switch security {
        case .insecure:
            credentials = cgrpc_server_credentials_create(nil, nil, nil)
        case .tls(let chain, let key, let clientCA):
            credentials = cgrpc_server_credentials_create(key, chain, clientCA)
        }
        guard let credentials else { throw .cannotListen(address: address) }
        defer { grpc_server_credentials_release(credentials) }
        let port = grpc_server_add_http2_port(server, address, credentials)
        guard port > 0 else { throw .cannotListen(address: address) }
        return Int(port)
    }

    /// Starts serving.
    public func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        grpc_server_start(server)
        for queue in queues.indices {
            for method in methods {
                for _ in 0..<pendingRequestsPerMethod { requestCall(of: method, on: queue) }
            }
            for _ in 0..<8 { requestUnknownMethodCall(on: queue) }
        }
    }

    /// Asks gRPC core for the next call of `method` on queue `index`; once it came, asks for another there.
    private func requestCall(of method: Method, on index: Int) {
        guard !stopping.load(ordering: .acquiring), let call = try? ServerCallHandle() else { return }
        let tag = CompletionTag.make { [self] success in
            guard success else { return }
            requestCall(of: method, on: index)
            serve(call, on: index) { responder in method.handler(call.payload, responder) }
        }
        let error = cgrpc_server_call_request_registered(call.pointer, server, method.registration,
                                                         queues[index].pointer, tag)
        if error != GRPC_CALL_OK { CompletionTag.discard(tag) }
    }

    private func requestUnknownMethodCall(on index: Int) {
        guard !stopping.load(ordering: .acquiring), let call = try? ServerCallHandle() else { return }
        let tag = CompletionTag.make { [self] success in
            guard success else { return }
            requestUnknownMethodCall(on: index)
            serve(call, on: index) { responder in
                responder.fail(.unimplemented, "unknown method \(call.method); this server implements "
                    + methods.map(\.name).joined(separator: ", "))
            }
        }
        let error = cgrpc_server_call_request_unregistered(call.pointer, server, queues[index].pointer, tag)
        if error != GRPC_CALL_OK { CompletionTag.discard(tag) }
    }

    private func serve(_ call: ServerCallHandle, on index: Int, _ body: (GRPCServerResponder) -> Void) {
        inFlight.add(1, ordering: .relaxed)
        body(GRPCServerResponder(call: call, gate: gate, queue: queues[index], queueIndex: index) { [self] in
            inFlight.subtract(1, ordering: .relaxed)
        })
    }

    /// Stops accepting calls, lets the calls in flight finish for up to `gracePeriod`, cancels the rest, and
    /// releases everything. Safe to call more than once.
    public func shutdown(gracePeriod: Duration) async {
        guard started.load(ordering: .acquiring),
              !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let done = ShutdownFlag()
        let tag = CompletionTag.make { _ in done.set() }
        grpc_server_shutdown_and_notify(server, queues[0].pointer, tag)
        if await !done.wait(upTo: gracePeriod) {
            grpc_server_cancel_all_calls(server)
            // Cancelled calls complete promptly; the bound only keeps a wedged core from hanging the exit.
            guard await done.wait(upTo: .seconds(10)) else { return }
        }
        gate.close()
        grpc_server_destroy(server)
        queues.forEach { $0.shutdownAndWait() }
        GRPCLibrary.release()
    }
}

/// Set by gRPC core's shutdown notification; awaited with a bound by polling, which is fine once per process.
private final class ShutdownFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    func set() { flag.store(true, ordering: .releasing) }

    func wait(upTo limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while !flag.load(ordering: .acquiring) {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }
}
