import Logging

/// Serves CoreDNS's gRPC DnsService and hands each query to the engine.
public final class GRPCListener: Sendable {
    /// Calls served at once at most by default (`limits { grpc_calls N }`); more wait in gRPC core until one finishes (see `GRPCServer`). Beyond what an
    /// upstream set needs in flight (queries a second times the round trip: 4,096 is 80,000 a second at 50 ms), a
    /// call in service costs an upstream socket and about 10 KiB more than one waiting in gRPC core.
    public static let maxCallsInService = 4096
    /// The largest request message read (gRPC core's receive limit): larger ones get RESOURCE_EXHAUSTED from gRPC
    /// core before they are read; a DnsPacket read whose `msg` is over 65,535 bytes gets INVALID_ARGUMENT from us.
    /// 256 KiB bounds what a call in service can hold (`maxCallsInService` of them: 1 GiB at the very worst).
    public static let maxRequestBytes = 256 * 1024

    private let server: GRPCServer
    /// The bound `HOST:PORT` addresses, with the actual ports.
    public let boundAddresses: [String]

    /// Binds every address (port 0 picks one) with its security, each completion queue's thread a worker of
    /// `plan` (one per event loop): a call's query is decided and forwarded on the thread that read the call, with no
    /// event loop between. Serving starts with `start()`. `isServing` is what the gRPC health service
    /// (`grpc.health.v1.Health/Check`) reports; `reflection` adds gRPC server reflection (`GRPCReflectionService`).
    init(addresses: [(address: String, security: GRPCServerSecurity)], plan: WorkerPlan,
         maxCallsInService: Int = GRPCListener.maxCallsInService, trustedProxies: TrustedProxies = TrustedProxies(),
         reflection: Bool = true, logger: Logger,
         isServing: @escaping @Sendable () -> Bool = { true }) throws(GRPCServerError) {
        let relays = QueueThreadRelay.forEachQueue(plan)
        guard !relays.isEmpty else { throw .outOfMemory }
        let counters = ListenerCounters.shared
        server = GRPCServer(methods: [
            DnsServiceMethod.query: { request, responder in
                let query: DNSMessage
                do {
                    query = try GRPCRequestError.query(from: request)
                } catch {
                    counters.malformedGRPC.add(1, ordering: .relaxed)
                    BridgeMetrics.grpcStatusReturned("INVALID_ARGUMENT", method: DnsServiceMethod.query)
                    logger.debug("refused gRPC request", metadata: ["error": "\(error)"])
                    responder.fail(.invalidArgument, "\(error)")
                    return
                }
                let peer = responder.peer
                var call = RelayCall(peer: peer.isEmpty ? nil : peer, answer: { reply in
                    BridgeMetrics.grpcStatusReturned("OK", method: DnsServiceMethod.query)
                    responder.reply(DnsPacketCodec.encode(reply.bytes))
                }, drop: {
                    BridgeMetrics.grpcStatusReturned("RESOURCE_EXHAUSTED", method: DnsServiceMethod.query)
                    responder.fail(.resourceExhausted, "query rate limit exceeded")
                }, onQueueThread: responder.onQueueThread, isCancelled: { responder.isCancelled })
                if !trustedProxies.isEmpty {
                    call.forwardedFor = GRPCClientAddress.forwarded(by: peer, trusting: trustedProxies,
                                                                    metadata: responder.metadata)
                }
                relays[responder.queueIndex].forward(query, call: call)
            },
            GRPCHealthService.checkMethod: { request, responder in
                GRPCHealthService.check(request, isServing: isServing(), responder: responder)
            },
        ], streams: reflection ? Dictionary(uniqueKeysWithValues: GRPCReflectionService.methods.map {
            ($0, GRPCReflectionService.handler)
        }) : [:], streamStatusSent: { method, status in
            BridgeMetrics.grpcStatusReturned(status.description, method: method)
        }, maxReceiveMessageLength: Self.maxRequestBytes, queues: relays.count,
           maxCallsInService: maxCallsInService) { queue, queueEnding in
            relays[queue].turn(queueEnding: queueEnding)
        }
        var bound: [String] = []
        for (address, security) in addresses {
            let port: Int
            do { port = try server.listen(on: address, security: security) } catch {
                relays.forEach { $0.stop() }
                throw error
            }
            bound.append(Self.replacingPort(of: address, with: port))
        }
        boundAddresses = bound
    }

    public func start() { server.start() }

    /// Calls being answered now.
    public var callsInFlight: Int { server.callsInFlight }

    /// Calls the client cancelled, or whose deadline passed, before their answer (see `GRPCServer.callsCancelled`).
    public var callsCancelled: Int { server.callsCancelled }

    /// Stops taking calls and lets those in flight finish (up to `gracePeriod`).
    public func shutdown(gracePeriod: Duration) async {
        await server.shutdown(gracePeriod: gracePeriod)
    }

    private static func replacingPort(of address: String, with port: Int) -> String {
        if address.hasPrefix("unix:") { return address }
        guard let colon = address.lastIndex(of: ":") else { return "\(address):\(port)" }
        return "\(address[..<colon]):\(port)"
    }
}
