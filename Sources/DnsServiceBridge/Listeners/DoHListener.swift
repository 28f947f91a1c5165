import Logging
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL

/// DNS over HTTPS (RFC 8484) at one address: with a TLS context, HTTP/2 or HTTP/1.1 as ALPN agrees; without one,
/// plain HTTP/1.1 for a proxy in front that terminates TLS (as CoreDNS allows). Queries go to the listener's engine
/// like every other frontend's. HTTP/2 runs with NIO's protections against stream floods (rapid reset, control
/// frame and error rates) and at most 100 streams and 16 KiB of headers per connection; connections are held to the
/// listener's limits (`ConnectionTable`) as for TCP and DoT.
final class DoHListener: Sendable {
    private let acceptor: StreamAcceptor
    /// The bound address, with the actual port when port 0 was asked for.
    var boundAddress: SocketAddress? { acceptor.localAddress }

    private init(acceptor: StreamAcceptor) {
        self.acceptor = acceptor
    }

    static let maxConcurrentStreams = 100
    static let maxHeaderListSize = 16 * 1024

    /// Binds (or takes over `inherited`, a reload's hand-over) and serves `engine`'s blocks; `tls` is a context with
    /// ALPN (`TLSServerSettings.dohServerContext()`), nil for plain HTTP/1.1.
    static func bind(host: String, port: Int, settings: DNSListener.Settings, tls context: NIOSSLContext?,
                     engine: ListenerEngine, server: String, group: MultiThreadedEventLoopGroup,
                     inheriting inherited: ListeningSocket? = nil) async throws -> DoHListener {
        let socket = try inherited ?? ListeningSocket.listen(host: host, port: port)
        let table = ConnectionTable(maxConnections: settings.maxConnections,
                                    maxPerClient: settings.maxConnectionsPerClient, idleTimeout: settings.idleTimeout,
                                    counters: .shared)
        let counters = DoHCounters(server: server)
        do {
            let acceptor = try await StreamAcceptor.start(on: socket, table: table, group: group,
                                                          sendBuffer: DNSListener.Settings.socketSendBuffer) {
                channel, _ in
                configure(channel, tls: context, settings: settings, engine: engine, counters: counters)
            }
            return DoHListener(acceptor: acceptor)
        } catch {
            // Ours either way: bound here, or a duplicate handed on (the previous owner keeps its own).
            socket.close()
            throw error
        }
    }

    private static func configure(_ channel: any Channel, tls: NIOSSLContext?, settings: DNSListener.Settings,
                                  engine: ListenerEngine, counters: DoHCounters) -> EventLoopFuture<Void> {
        let http1: NIOChannelInitializer = { channel in
            channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMapThrowing {
                try channel.pipeline.syncOperations.addHandler(DoHRequestHandler(engine: engine, counters: counters))
            }
        }
        guard let tls else {
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: settings.idleTimeout))
                try channel.pipeline.syncOperations.addHandler(IdleConnectionCloser())
            }.flatMap { http1(channel) }
        }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: settings.idleTimeout))
            try channel.pipeline.syncOperations.addHandler(IdleConnectionCloser())
        }.flatMap {
            channel.configureHTTP2SecureUpgrade(
                h2ChannelConfigurator: { channel in
                    var connection = NIOHTTP2Handler.ConnectionConfiguration()
                    connection.initialSettings = [
                        HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams),
                        HTTP2Setting(parameter: .maxHeaderListSize, value: maxHeaderListSize),
                    ]
                    return channel.configureHTTP2Pipeline(
                        mode: .server, connectionConfiguration: connection,
                        streamConfiguration: NIOHTTP2Handler.StreamConfiguration()
                    ) { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                            try stream.pipeline.syncOperations.addHandler(
                                DoHRequestHandler(engine: engine, counters: counters))
                        }
                    }.map { _ in }
                },
                http1ChannelConfigurator: http1)
        }
    }

    /// Duplicate of the listening socket for the next configuration; this listener pauses accepting.
    func handOver() async -> ListeningSocket? {
        await acceptor.setAccepting(false)
        return acceptor.socket.duplicate()
    }

    func resumeAccepting() async {
        await acceptor.setAccepting(true)
    }

    var openConnections: Int { acceptor.table.count }

    func stopAccepting() async {
        await acceptor.stopAccepting()
    }

    func close() async {
        await acceptor.close()
    }
}
