import NIOCore
import NIOPosix

/// A TCP (or, with a TLS handler in front, DoT) connection to one upstream that carries several exchanges at
/// once: queries are pipelined and replies matched by ID and question (see `MultiplexedExchangeHandler`).
/// When the connection fails, every exchange pending on it fails with it.
final class MultiplexedStreamConnection: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<MultiplexedExchangeHandler>

    private init(channel: any Channel, handler: NIOLoopBound<MultiplexedExchangeHandler>) {
        self.channel = channel
        self.handler = handler
    }

    /// Connects to `address`; `prepare` may add handlers in front (TLS) before the DNS framing.
    static func connect(to address: SocketAddress, label: String, on loop: any EventLoop,
                        connectTimeout: TimeAmount, counters: TransportCounters, maxInFlight: Int,
                        prepare: (@Sendable (any Channel) throws -> Void)? = nil)
        -> EventLoopFuture<MultiplexedStreamConnection> {
        ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try prepare?(channel)
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
                    try sync.addHandler(MultiplexedExchangeHandler(label: label, counters: counters,
                                                                   maxInFlight: maxInFlight))
                }
            }
            .connect(to: address)
            .flatMapThrowing { channel in
                let handler = try channel.pipeline.syncOperations.handler(type: MultiplexedExchangeHandler.self)
                return MultiplexedStreamConnection(channel: channel,
                                                   handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
            }
            .flatMapErrorThrowing { error in
                throw ExchangeError.connectionFailed(upstream: label, reason: "\(error)")
            }
    }

    /// Whether the connection can still carry exchanges.
    var isOpen: Bool { channel.isActive }

    /// Completes when the connection has closed, for whatever reason.
    var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// One exchange; the reply has the ID the connection chose, not `query`'s.
    func exchange(_ query: DNSMessage, deadline: NIODeadline) -> EventLoopFuture<DNSMessage> {
        let loop = channel.eventLoop
        if loop.inEventLoop {
            return handler.value.start(query, deadline: deadline, channel: channel)
        }
        return loop.flatSubmit { [handler, channel] in
            handler.value.start(query, deadline: deadline, channel: channel)
        }
    }

    /// Closes the connection; exchanges in flight on it fail.
    func close() {
        channel.close(promise: nil)
    }
}
