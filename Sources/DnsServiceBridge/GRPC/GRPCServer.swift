import CGRPC
import Synchronization

/// A gRPC server over gRPC core serving unary and streaming methods. Calls of unknown methods get UNIMPLEMENTED.
/// Calls are served by one or more completion queues, each with a thread of its own; gRPC core gives each client
/// connection one of them (its calls go to another only when that one has no request left), so the work of
/// reading, parsing and answering calls spreads over that many cores.
public final class GRPCServer: @unchecked Sendable {
    /// Serves one call: `request` is the request message (nil when the client sent none). The handler must
    /// eventually reply through the responder; it runs on a completion-queue thread (`responder.queueIndex` says
    /// which), so it must not block.
    public typealias UnaryHandler = @Sendable (_ request: [UInt8]?, _ responder: GRPCServerResponder) -> Void
    /// Serves one request message of a stream (see `GRPCServerStream`), on its completion-queue thread, so it
    /// must not block.
    public typealias StreamHandler = @Sendable (_ request: [UInt8]) -> GRPCStreamStep
    /// Told the status a stream of `method` ended with, once it went out (a stream the client cancelled or that
    /// was given up sends none).
    public typealias StreamStatusSent = @Sendable (_ method: String, _ status: GRPCStatusCode) -> Void

    private enum Handler {
        case unary(UnaryHandler)
        case stream(StreamHandler)
    }

    private struct Method: @unchecked Sendable {
        let name: String
        let registration: UnsafeMutableRawPointer  // gRPC core's handle for the registered method
        let handler: Handler

        var isStream: Bool {
            if case .stream = handler { return true }
            return false
        }
    }

    // The server and its queues are thread-safe in gRPC core; `started`/`stopping` guard the lifecycle.
    private let server: OpaquePointer
    private let queues: [CompletionQueue]
    private let methods: [Method]
    private let pendingRequestsPerMethod: Int
    private let maxCallsInService: Int
    private let streamLimits: GRPCStreamLimits
    private let streamStatusSent: StreamStatusSent
    private let started = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    private let service = Mutex(Service())
    private let gate = QueueGate()
    private let cancelledCalls = Atomic<Int>(0)

    /// Calls being served, requests for calls outstanding in gRPC core, and the requests not renewed because
    /// calls and outstanding requests together reached `maxCallsInService`.
    private struct Service {
        var calls = 0
        var outstanding = 0
        /// Of `calls` and `outstanding`, those of streaming methods: together at most `GRPCStreamLimits.inService`.
        var streams = 0
        var outstandingStreams = 0
        var deferredRequests: [(method: Method, queue: Int)] = []

        /// A request for a call of `method` goes out.
        mutating func requested(_ method: Method) {
            outstanding += 1
            if method.isStream { outstandingStreams += 1 }
        }

        /// A request came back: with a call, or (`arrived` false) without one.
        mutating func returned(_ method: Method, arrived: Bool) {
            outstanding -= 1
            if method.isStream { outstandingStreams -= 1 }
            guard arrived else { return }
            calls += 1
            if method.isStream { streams += 1 }
        }
    }

    /// - Parameters:
    ///   - methods: full method names (`/package.Service/Method`) and their handlers.
    ///   - streams: streaming methods (client, server or bidirectional) and their handlers; each stream counts
    ///     as one call in service, and `streamLimits` bounds what it may take; `streamStatusSent` hears how each
    ///     one ended.
    ///   - maxReceiveMessageLength: gRPC's own limit; keep it above what handlers reject themselves so the
    ///     client gets the handler's clearer status.
    ///   - pendingRequestsPerMethod: how many calls gRPC core may hand over without waiting for us (per queue).
    ///   - queues: completion queues, each with its own thread (at least 1).
    ///   - maxCallsInService: how many calls may be served at once (counting the requests gRPC core holds for
    ///     calls to come; at least one per queue and method). Past it gRPC core keeps further calls waiting (they
    ///     are not refused) until one finishes: the work and memory of calls in service stay bounded however many
    ///     streams clients open.
    ///   - afterEachBatch: runs on a completion-queue thread (its index given) after each run of calls and
    ///     completions that arrived together, so handlers can gather work and hand it to an event loop once per
    ///     batch; what it returns bounds that thread's next wait (see `CompletionQueue.AfterBatch`).
    public init(methods: [String: UnaryHandler], streams: [String: StreamHandler] = [:],
                streamLimits: GRPCStreamLimits = GRPCStreamLimits(),
                streamStatusSent: @escaping StreamStatusSent = { _, _ in }, maxReceiveMessageLength: Int = 256 * 1024,
                pendingRequestsPerMethod: Int = 256, queues: Int = 1, maxCallsInService: Int = .max,
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
        let unary = methods.sorted { $0.key < $1.key }.compactMap { name, handler -> Method? in
            guard let registration = cgrpc_server_register_unary_method(server, name) else { return nil }
            return Method(name: name, registration: registration, handler: .unary(handler))
        }
        let streaming = streams.sorted { $0.key < $1.key }.compactMap { name, handler -> Method? in
            guard let registration = cgrpc_server_register_streaming_method(server, name) else { return nil }
            return Method(name: name, registration: registration, handler: .stream(handler))
        }
        self.methods = unary + streaming
        // Like the calls, the limit counts the requests out, one per queue and streaming method.
        var streamLimits = streamLimits
        streamLimits.inService = max(streamLimits.inService, self.queues.count * streaming.count)
        self.streamLimits = streamLimits
        self.streamStatusSent = streamStatusSent
        self.pendingRequestsPerMethod = max(1, pendingRequestsPerMethod)
        // Every queue keeps a request out for every method (or calls of that method could not come in on it): the
        // requests count in the limit, so a smaller limit would leave none to renew once calls took them.
        self.maxCallsInService = max(self.queues.count * self.methods.count, maxCallsInService)
    }

    /// Calls that arrived and have not finished their reply yet.
    public var callsInFlight: Int { service.withLock { $0.calls } }

    /// Calls that ended for the client (cancelled, past their deadline, connection lost) before their reply: each
    /// left service at that moment, not when its handler replied.
    public var callsCancelled: Int { cancelledCalls.load(ordering: .relaxed) }

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
        let perMethod = max(1, min(pendingRequestsPerMethod, maxCallsInService / max(1, queues.count * methods.count)))
        // A streaming method is for tools, a call now and then: one request out per queue is enough, and leaves
        // the budget of requests to the unary methods.
        let pending = { (method: Method) in method.isStream ? 1 : perMethod }
        service.withLock { service in
            for method in methods {
                for _ in 0..<pending(method) * queues.count { service.requested(method) }
            }
        }
        for queue in queues.indices {
            for method in methods {
                for _ in 0..<pending(method) { requestCall(of: method, on: queue) }
            }
            for _ in 0..<8 { requestUnknownMethodCall(on: queue) }
        }
    }

    /// Asks gRPC core for the next call of `method` on queue `index` (already counted as outstanding); once it
    /// came, asks for another there, or, with `maxCallsInService` reached, once a call finishes.
    private func requestCall(of method: Method, on index: Int) {
        guard !stopping.load(ordering: .acquiring) else {
            service.withLock { $0.returned(method, arrived: false) }
            return
        }
        let error: grpc_call_error
        switch method.handler {
        case .unary(let handler):
            guard let call = try? ServerCallHandle() else {
                service.withLock { $0.returned(method, arrived: false) }
                return
            }
            let tag = CompletionTag.make { [self] success in
                guard arrived(method, on: index, success: success) else { return }
                serve(call, on: index) { responder in handler(call.payload, responder) }
            }
            error = cgrpc_server_call_request_registered(call.pointer, server, method.registration,
                                                         queues[index].pointer, tag)
            if error != GRPC_CALL_OK { CompletionTag.discard(tag) }
        case .stream(let handler):
            let end = callEnd(isStream: true)
            guard let stream = try? GRPCServerStream(
                handler: handler, limits: streamLimits, gate: gate, queue: queues[index],
                onClose: { [self] cancelled in
                    if end.closed(cancelled: cancelled) { cancelledCalls.add(1, ordering: .relaxed) }
                },
                onStatusSent: { [self] status in
                    end.replied()
                    streamStatusSent(method.name, status)
                })
            else {
                service.withLock { $0.returned(method, arrived: false) }
                return
            }
            let tag = CompletionTag.make { [self] success in
                guard arrived(method, on: index, success: success) else { return }
                stream.serve()
            }
            error = stream.request(server: server, method: method.registration, tag: tag)
            if error != GRPC_CALL_OK { CompletionTag.discard(tag) }
        }
        if error != GRPC_CALL_OK { service.withLock { $0.returned(method, arrived: false) } }
    }

    /// Counts a call of `method` that came (`success`) into service and asks for the next one, or, with
    /// `maxCallsInService` (or, for a stream, `streamLimits.inService`) reached, leaves that to a call that
    /// finishes. Returns whether a call came.
    private func arrived(_ method: Method, on index: Int, success: Bool) -> Bool {
        let renew = service.withLock { service -> Bool in
            service.returned(method, arrived: success)
            guard success else { return false }
            guard canRenew(method, service) else {
                service.deferredRequests.append((method, index))
                return false
            }
            service.requested(method)
            return true
        }
        if renew { requestCall(of: method, on: index) }
        return success
    }

    private func canRenew(_ method: Method, _ service: Service) -> Bool {
        service.calls + service.outstanding < maxCallsInService
            && (!method.isStream || service.streams + service.outstandingStreams < streamLimits.inService)
    }

    private func requestUnknownMethodCall(on index: Int) {
        guard !stopping.load(ordering: .acquiring), let call = try? ServerCallHandle() else { return }
        let tag = CompletionTag.make { [self] success in
            guard success else { return }
            requestUnknownMethodCall(on: index)
            service.withLock { $0.calls += 1 }
            serve(call, on: index) { responder in
                responder.fail(.unimplemented, "unknown method \(call.method); this server implements "
                    + methods.map(\.name).joined(separator: ", "))
            }
        }
        let error = cgrpc_server_call_request_unregistered(call.pointer, server, queues[index].pointer, tag)
        if error != GRPC_CALL_OK { CompletionTag.discard(tag) }
    }

    /// Serves a call already counted in `service`; when it leaves service (replied, or given up by the client),
    /// renews a request that waited for that.
    private func serve(_ call: ServerCallHandle, on index: Int, _ body: (GRPCServerResponder) -> Void) {
        let end = callEnd(isStream: false)
        call.watchClose { [self] cancelled in
            if end.closed(cancelled: cancelled) { cancelledCalls.add(1, ordering: .relaxed) }
        }
        body(GRPCServerResponder(call: call, gate: gate, queue: queues[index], queueIndex: index, end: end))
    }

    /// How a call leaves service: it renews the latest request that waited for room and now has it.
    private func callEnd(isStream: Bool) -> ServerCallEnd {
        ServerCallEnd { [self] in
            let deferred = service.withLock { service -> (method: Method, queue: Int)? in
                service.calls -= 1
                if isStream { service.streams -= 1 }
                guard let at = service.deferredRequests.lastIndex(where: { canRenew($0.method, service) })
                else { return nil }
                let deferred = service.deferredRequests.remove(at: at)
                service.requested(deferred.method)
                return deferred
            }
            if let deferred { requestCall(of: deferred.method, on: deferred.queue) }
        }
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
