import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

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

    /// The TCP/DoT accepting socket, when there is one.
    private let acceptingChannels: [any Channel]
    /// The relay threads serving UDP.
    private let relay: WorkerThreads?
    /// The bound addresses (with the actual ports when port 0 was asked for): UDP first, then the stream socket.
    public let boundAddresses: [SocketAddress]

    private init(acceptingChannels: [any Channel], relay: WorkerThreads?) {
        self.acceptingChannels = acceptingChannels
        self.relay = relay
        boundAddresses = (relay?.boundAddresses ?? []) + acceptingChannels.compactMap(\.localAddress)
    }

    /// Binds and starts serving `engine`'s blocks. With port 0, TCP takes the port UDP got.
    static func bind(host: String, port: Int, settings: Settings, engine: ListenerEngine,
                     group: MultiThreadedEventLoopGroup, logger: Logger) async throws -> DNSListener {
        var stream: (any Channel)?
        var relay: WorkerThreads?
        let servesStream = settings.tcp || settings.tls != nil
        do {
            var port = port
            // A fixed port takes the stream socket first: on a reload the running instance still holds it, and
            // failing there leaves no UDP socket of ours bound beside the running one's, taking (and then dropping
            // when closed) datagrams the kernel would have given to it.
            if servesStream && port != 0 {
                stream = try await bindStream(host: host, port: port, settings: settings, handler: engine,
                                              group: group)
            }
            if settings.udp && settings.tls == nil {
                let started = try WorkerThreads.relay(WorkerPlan(engine: engine, group: group), host: host,
                                                      port: port, logger: logger)
                relay = started
                if port == 0 { port = started.boundAddresses.first?.port ?? 0 }
                logger.info("UDP is served by the datagram relay",
                            metadata: ["listener": "\(host):\(port)", "threads": "\(started.boundAddresses.count)"])
            }
            if servesStream && stream == nil {
                stream = try await bindStream(host: host, port: port, settings: settings, handler: engine,
                                              group: group)
            }
        } catch {
            await relay?.close()
            if let stream { try? await stream.close() }
            throw error
        }
        return DNSListener(acceptingChannels: stream.map { [$0] } ?? [], relay: relay)
    }

    private static func bindStream(host: String, port: Int, settings: Settings, handler: any QueryHandler,
                                   group: MultiThreadedEventLoopGroup) async throws -> any Channel {
        let table = ConnectionTable(maxConnections: settings.maxConnections,
                                    maxPerClient: settings.maxConnectionsPerClient, idleTimeout: settings.idleTimeout,
                                    counters: .shared)
        let transport: ClientTransport = settings.tls == nil ? .tcp : .tls
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A fixed send buffer instead of the kernel's autotuned one (up to 4 MiB): a client that leaves its replies
            // unread is paused after about 128 KiB, not after thousands of answers the upstream was asked for.
            .childChannelOption(.socketOption(.so_sndbuf), value: Settings.socketSendBuffer)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                guard let slot = table.admit(channel) else { return channel.close() }
                channel.closeFuture.whenComplete { _ in table.remove(slot) }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls = settings.tls {
                        try sync.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try sync.addHandler(IdleStateHandler(readTimeout: settings.idleTimeout))
                    let frameDeadline = FrameDeadlineHandler(timeout: settings.frameTimeout, counters: .shared)
                    try sync.addHandler(frameDeadline)
                    try sync.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
                    try sync.addHandler(StreamQueryHandler(handler: handler, transport: transport, counters: .shared,
                                                           maxPipelined: settings.maxPipelined,
                                                           drainTimeout: settings.drainTimeout,
                                                           frameDeadline: frameDeadline, slot: slot))
                }
            }
            .bind(host: host, port: port)
            .get()
    }

    /// Stops accepting TCP/DoT connections; UDP sockets and accepted connections keep serving (shutdown).
    public func stopAccepting() async {
        for channel in acceptingChannels { try? await channel.close() }
    }

    /// Stops listening; connections already accepted finish their queries.
    public func close() async {
        await relay?.close()
        for channel in acceptingChannels { try? await channel.close() }
    }
}
