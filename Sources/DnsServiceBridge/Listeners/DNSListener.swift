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

/// Plain DNS on UDP and TCP (or DoT, with a TLS context) at one address. UDP binds one socket per event loop
/// with SO_REUSEPORT, so the kernel spreads clients over the loops, and reads in batches (recvmmsg).
public final class DNSListener: Sendable {
    /// What to serve and the limits that protect the process.
    public struct Settings: Sendable {
        public var udp = true
        public var tcp = true
        /// Serves DoT (RFC 7858) on the stream socket instead of plain TCP; UDP is then off.
        public var tls: NIOSSLContext?
        /// Concurrent TCP/DoT connections; new ones above it are closed at once.
        public var maxConnections = 1000
        /// A connection with nothing in flight and nothing read for this long is closed.
        public var idleTimeout: TimeAmount = .seconds(10)
        /// Queries in flight on one connection before reading from it pauses.
        public var maxPipelined = 128
        /// Datagrams read per system call.
        public var udpBatchSize = 32
        /// Set when the UDP side is served by the relay (`UDPRelay`) instead of NIO channels.
        var relay: UDPRelayPlan?

        public init() {}
    }

    private let channels: [any Channel]
    /// The TCP/DoT accepting sockets (the last channel when there is one).
    private let acceptingChannels: [any Channel]
    /// The UDP relay, when it serves UDP instead of channels.
    private let relay: UDPRelay?
    /// The bound addresses (with the actual ports when port 0 was asked for): UDP first, then the stream socket.
    public let boundAddresses: [SocketAddress]

    private init(channels: [any Channel], acceptingChannels: [any Channel], relay: UDPRelay?) {
        self.channels = channels
        self.acceptingChannels = acceptingChannels
        self.relay = relay
        boundAddresses = (relay?.boundAddresses ?? []) + channels.compactMap(\.localAddress)
    }

    /// Binds and starts serving. With port 0, TCP takes the port UDP got.
    public static func bind(host: String, port: Int, settings: Settings, handler: any QueryHandler,
                            group: MultiThreadedEventLoopGroup, logger: Logger) async throws -> DNSListener {
        var udpChannels: [any Channel] = []
        var stream: (any Channel)?
        var relay: UDPRelay?
        let servesStream = settings.tcp || settings.tls != nil
        do {
            var port = port
            // A fixed port takes the stream socket first: on a reload the running instance still holds it, and
            // failing there leaves no UDP socket of ours bound beside the running one's, taking (and then dropping
            // when closed) datagrams the kernel would have given to it.
            if servesStream && port != 0 {
                stream = try await bindStream(host: host, port: port, settings: settings, handler: handler,
                                              group: group)
            }
            if settings.udp && settings.tls == nil, let plan = settings.relay,
               let started = try startRelay(plan, host: host, port: port, group: group, logger: logger) {
                relay = started
                if port == 0 { port = started.boundAddresses.first?.port ?? 0 }
            } else if settings.udp && settings.tls == nil {
                for loop in group.makeIterator() {
                    let channel = try await bindUDP(host: host, port: port, settings: settings, handler: handler,
                                                    on: loop)
                    udpChannels.append(channel)
                    if port == 0 { port = channel.localAddress?.port ?? 0 }
                }
            }
            if servesStream && stream == nil {
                stream = try await bindStream(host: host, port: port, settings: settings, handler: handler,
                                              group: group)
            }
        } catch {
            await relay?.close()
            for channel in udpChannels + (stream.map { [$0] } ?? []) { try? await channel.close() }
            throw error
        }
        let accepting = stream.map { [$0] } ?? []
        return DNSListener(channels: udpChannels + accepting, acceptingChannels: accepting, relay: relay)
    }

    /// The relay on host:port, or nil when its sockets cannot take this host (a scoped IPv6 address: the relay
    /// binds numeric addresses only), so that NIO serves UDP there instead.
    private static func startRelay(_ plan: UDPRelayPlan, host: String, port: Int,
                                   group: MultiThreadedEventLoopGroup, logger: Logger)
        throws(DatagramSocketError) -> UDPRelay? {
        let relay: UDPRelay
        do throws(DatagramSocketError) {
            relay = try UDPRelay(plan: plan, host: host, port: port, logger: logger)
        } catch {
            guard error.code == EINVAL else { throw error }
            logger.notice("the datagram relay cannot bind this address; UDP is served by NIO",
                          metadata: ["listener": "\(host):\(port)"])
            return nil
        }
        logger.info("UDP is served by the datagram relay",
                    metadata: ["listener": "\(host):\(relay.boundAddresses.first?.port ?? port)",
                               "threads": "\(relay.boundAddresses.count)"])
        return relay
    }

    private static func bindUDP(host: String, port: Int, settings: Settings, handler: any QueryHandler,
                                on loop: any EventLoop) async throws -> any Channel {
        try await DatagramBootstrap(group: loop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
            .channelOption(.datagramVectorReadMessageCount, value: settings.udpBatchSize)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65536))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        UDPQueryHandler(handler: handler, counters: .shared))
                }
            }
            .bind(host: host, port: port)
            .get()
    }

    private static func bindStream(host: String, port: Int, settings: Settings, handler: any QueryHandler,
                                   group: MultiThreadedEventLoopGroup) async throws -> any Channel {
        let limits = ConnectionLimit(max: settings.maxConnections)
        let transport: ClientTransport = settings.tls == nil ? .tcp : .tls
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1024)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                guard limits.acquire() else {
                    ListenerCounters.shared.closedTCP.add(1, ordering: .relaxed)
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in limits.release() }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let tls = settings.tls {
                        try sync.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try sync.addHandler(IdleStateHandler(readTimeout: settings.idleTimeout))
                    try sync.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
                    try sync.addHandler(StreamQueryHandler(handler: handler, transport: transport, counters: .shared,
                                                           maxPipelined: settings.maxPipelined))
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
        for channel in channels { try? await channel.close() }
    }
}

/// Open connections against a limit.
final class ConnectionLimit: Sendable {
    private let open = Atomic<Int>(0)
    let max: Int

    init(max: Int) { self.max = max }

    func acquire() -> Bool {
        if open.add(1, ordering: .relaxed).newValue > max {
            open.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func release() { open.subtract(1, ordering: .relaxed) }

    var current: Int { open.load(ordering: .relaxed) }
}
