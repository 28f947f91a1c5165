import Logging
import NIOCore

/// Serves CoreDNS's gRPC DnsService and hands each query to the engine.
public final class GRPCListener: Sendable {
    /// Calls served at once at most; more wait in gRPC core until one finishes (see `GRPCServer`). Beyond what an
    /// upstream set needs in flight (queries a second times the round trip: 4,096 is 80,000 a second at 50 ms), a
    /// call in service costs an upstream socket and about 10 KiB more than one waiting in gRPC core.
    public static let maxCallsInService = 4096

    private let server: GRPCServer
    /// The bound `HOST:PORT` addresses, with the actual ports.
    public let boundAddresses: [String]

    /// Binds every address (port 0 picks one) with its security; serving starts with `start()`.
    /// `isServing` is what the gRPC health service (`grpc.health.v1.Health/Check`) reports.
    public convenience init(addresses: [(address: String, security: GRPCServerSecurity)], handler: any QueryHandler,
                            group: any EventLoopGroup, logger: Logger,
                            isServing: @escaping @Sendable () -> Bool = { true }) throws(GRPCServerError) {
        try self.init(addresses: addresses, handler: handler, relays: [], group: group, logger: logger,
                      isServing: isServing)
    }

    /// The same, with `relays` (when the block only forwards over `multiplex_udp`) taking the queries the engine
    /// would, each on its own completion-queue thread, with no event loop between. The server has a completion queue
    /// per relay, or else per event loop.
    init(addresses: [(address: String, security: GRPCServerSecurity)], handler: any QueryHandler,
         relays: [QueueThreadRelay], group: any EventLoopGroup, logger: Logger,
         isServing: @escaping @Sendable () -> Bool = { true }) throws(GRPCServerError) {
        let counters = ListenerCounters.shared
        let handoff = EventLoopHandoff()
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
                if !relays.isEmpty {
                    let call = RelayCall(peer: peer.isEmpty ? nil : peer, answer: { reply in
                        BridgeMetrics.grpcStatusReturned("OK", method: DnsServiceMethod.query)
                        responder.reply(DnsPacketCodec.encode(reply.bytes))
                    }, onQueueThread: responder.onQueueThread)
                    relays[responder.queueIndex].forward(query, call: call)
                    return
                }
                let loop = group.any()
                let context = QueryContext(client: peer.isEmpty ? nil : peer, transport: .grpc, eventLoop: loop)
                // One hop to the event loop for the whole query: every future step the engine takes from the
                // completion-queue thread would otherwise be a hop of its own. The hop itself is shared by the
                // calls that arrived together (see EventLoopHandoff).
                handoff.enqueue(on: loop) {
                    handler.handle(query, context: context).whenSuccess { reply in
                        BridgeMetrics.grpcStatusReturned("OK", method: DnsServiceMethod.query)
                        responder.reply(DnsPacketCodec.encode(reply.bytes))
                    }
                }
            },
            GRPCHealthService.checkMethod: { request, responder in
                GRPCHealthService.check(request, isServing: isServing(), responder: responder)
            },
        ], queues: relays.isEmpty ? group.loopCount : relays.count, maxCallsInService: Self.maxCallsInService) {
            queue, queueEnding in
            handoff.flush()
            return relays.isEmpty ? nil : relays[queue].turn(queueEnding: queueEnding)
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

    /// Stops taking calls and lets those in flight finish (up to `gracePeriod`).
    public func shutdown(gracePeriod: Duration) async {
        await server.shutdown(gracePeriod: gracePeriod)
    }

    private static func replacingPort(of address: String, with port: Int) -> String {
        guard let colon = address.lastIndex(of: ":") else { return "\(address):\(port)" }
        return "\(address[..<colon]):\(port)"
    }
}
