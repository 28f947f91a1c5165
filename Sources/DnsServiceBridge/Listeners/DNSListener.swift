import Logging
import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Plain DNS on UDP and TCP (or DoT, with a TLS context) at one address. UDP is served by relay threads, one per
/// event loop, each a worker with its own socket on the port (SO_REUSEPORT, so the kernel spreads clients over
/// them) reading and writing batches (recvmmsg/sendmmsg); TCP and DoT by NIO's event loops.
public final class DNSListener: Sendable {
    /// What to serve and the limits that protect the process.
    public struct Settings: Sendable {
        public var udp = true
        public var tcp = true
        /// Serves DoT (RFC 7858) on the stream socket instead of plain TCP; UDP is then off.
        public var tls: NIOSSLContext?
        /// Concurrent TCP/DoT connections; at the cap the one idle longest gives way to a new one (a new one is
        /// closed only when every one is busy).
        public var maxConnections = 1000
        /// Concurrent TCP/DoT connections from one client address; more are closed at once.
        public var maxConnectionsPerClient = 256
        /// A connection with nothing in flight and nothing read for this long is closed; past half full, the table
        /// closes idle connections sooner (see `ConnectionTable`).
        public var idleTimeout: TimeAmount = .seconds(10)
        /// Queries in flight on one connection before reading from it pauses.
        public var maxPipelined = 128
        /// How long a DNS message may take to arrive whole from its first byte before the connection is closed.
        public var frameTimeout: TimeAmount = .seconds(3)
        /// How long a client may leave the replies written to it unread (the write buffer over its watermark)
        /// before the connection is closed.
        public var drainTimeout: TimeAmount = .seconds(5)

        /// SO_SNDBUF of every TCP/DoT connection (the kernel doubles it): ample for DNS replies to a client that
        /// reads them, and a bound on what one that does not can make the listener produce.
        static let socketSendBuffer: SocketOptionValue = 64 * 1024

        public init() {}
    }

    /// The sockets of a listener that a reload hands to the next configuration: duplicates of its UDP sockets and
    /// of its TCP/DoT listening socket, so that nothing queued on them is lost and no port is bound twice.
    struct HandOver: Sendable {
        let datagramSockets: [DatagramSocket]
        let streamSocket: ListeningSocket?
    }

    /// What accepts TCP/DoT connections.
    private let acceptor: StreamAcceptor?
    /// The relay threads serving UDP.
    private let relay: WorkerThreads?
    /// The bound addresses (with the actual ports when port 0 was asked for): UDP first, then the stream socket.
    public let boundAddresses: [SocketAddress]

    private init(acceptor: StreamAcceptor?, relay: WorkerThreads?) {
        self.acceptor = acceptor
        self.relay = relay
        boundAddresses = (relay?.boundAddresses ?? []) + [acceptor?.localAddress].compactMap { $0 }
    }

    /// Binds (or takes over `inherited`'s sockets) and starts serving `engine`'s blocks. With port 0, TCP takes
    /// the port UDP got.
    static func bind(host: String, port: Int, settings: Settings, engine: ListenerEngine,
                     group: MultiThreadedEventLoopGroup, logger: Logger, inheriting inherited: HandOver? = nil)
        async throws -> DNSListener {
        var acceptor: StreamAcceptor?
        var streamSocket = inherited?.streamSocket
        var relay: WorkerThreads?
        let servesStream = settings.tcp || settings.tls != nil
        do {
            var port = port
            // A fixed port binds the stream socket first: on a reload that could not hand it on, the running
            // instance still holds it, and failing there leaves no UDP socket of ours bound beside the running
            // one's, taking (and then dropping when closed) datagrams the kernel would have given to it. It listens
            // only once UDP is bound, so that a client that can connect finds UDP served too.
            if servesStream && port != 0 && streamSocket == nil {
                streamSocket = try ListeningSocket.bind(host: host, port: port)
            }
            if settings.udp && settings.tls == nil {
                let plan = WorkerPlan(engine: engine, group: group)
                let started = if let sockets = inherited?.datagramSockets, !sockets.isEmpty {
                    WorkerThreads.relay(plan, sockets: sockets, logger: logger)
                } else {
                    try WorkerThreads.relay(plan, host: host, port: port, logger: logger)
                }
                relay = started
                if port == 0 { port = started.boundAddresses.first?.port ?? 0 }
                logger.info("UDP is served by the datagram relay",
                            metadata: ["listener": "\(host):\(port)", "threads": "\(started.boundAddresses.count)",
                                       "handed-on": "\(inherited?.datagramSockets.isEmpty == false)"])
            }
            if servesStream {
                let socket = try streamSocket ?? ListeningSocket.bind(host: host, port: port)
                streamSocket = socket
                try socket.startListening()
                acceptor = try await accept(on: socket, settings: settings, engine: engine, group: group)
            }
        } catch {
            await relay?.close()
            await acceptor?.close()
            streamSocket?.close()
            throw error
        }
        return DNSListener(acceptor: acceptor, relay: relay)
    }

    /// Duplicates of every socket, for the next configuration (`bind(..., inheriting:)`). This listener pauses
    /// accepting at once (two NIO channels must not accept from one socket, and closing the channel would drop the
    /// connections it is accepting: connections wait in the socket's queue for the next configuration) and keeps
    /// reading UDP until `stopListening()`, or accepts again on `resumeAccepting()`.
    func handOver() async -> HandOver {
        await acceptor?.setAccepting(false)
        return HandOver(datagramSockets: relay?.duplicateSockets() ?? [], streamSocket: acceptor?.socket.duplicate())
    }

    /// The next configuration did not start after all: this listener accepts again on its socket.
    func resumeAccepting() async {
        await acceptor?.setAccepting(true)
    }

    /// After a hand-over: stops reading queries (the next configuration reads the same sockets now, and accepts on
    /// the same listening socket); the queries in flight are still answered, on the same sockets.
    func stopListening() async {
        await relay?.stopListening()
    }

    /// DNS over TCP or TLS on the connections `socket` accepts.
    private static func accept(on socket: ListeningSocket, settings: Settings, engine: ListenerEngine,
                               group: MultiThreadedEventLoopGroup) async throws -> StreamAcceptor {
        let table = ConnectionTable(maxConnections: settings.maxConnections,
                                    maxPerClient: settings.maxConnectionsPerClient, idleTimeout: settings.idleTimeout,
                                    counters: .shared)
        let transport: ClientTransport = settings.tls == nil ? .tcp : .tls
        return try await StreamAcceptor.start(on: socket, table: table, group: group,
                                              sendBuffer: Settings.socketSendBuffer) { channel, slot in
            channel.eventLoop.makeCompletedFuture {
                let sync = channel.pipeline.syncOperations
                if let tls = settings.tls {
                    try sync.addHandler(NIOSSLServerHandler(context: tls))
                }
                try sync.addHandler(IdleStateHandler(readTimeout: settings.idleTimeout))
                let frameDeadline = FrameDeadlineHandler(timeout: settings.frameTimeout, counters: .shared)
                try sync.addHandler(frameDeadline)
                try sync.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
                try sync.addHandler(StreamQueryHandler(handler: engine, transport: transport, counters: .shared,
                                                       maxPipelined: settings.maxPipelined,
                                                       drainTimeout: settings.drainTimeout,
                                                       frameDeadline: frameDeadline, slot: slot))
            }
        }
    }

    /// Stops accepting TCP/DoT connections; UDP sockets and accepted connections keep serving (shutdown).
    public func stopAccepting() async {
        await acceptor?.stopAccepting()
    }

    /// TCP/DoT connections open now.
    var openConnections: Int { acceptor?.table.count ?? 0 }

    /// Stops listening and closes the connections still open (their queries were answered or the grace period is
    /// over). Sockets handed on stay open for their new owner.
    public func close() async {
        await relay?.close()
        await acceptor?.close()
    }
}
