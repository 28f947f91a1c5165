import NIOCore
import NIOPosix

/// The event-loop side of an upstream connection: the handler in the channel's pipeline that sends queries and
/// matches their replies.
protocol ExchangeHandling: ChannelHandler, SendableMetatype {
    /// Sends `query` on `channel`; called on the channel's event loop only.
    func start(_ query: DNSMessage, deadline: NIODeadline, channel: any Channel) -> EventLoopFuture<DNSMessage>
}

/// A connected channel to one upstream with the handler that runs its exchanges, usable from any thread: an
/// exchange started elsewhere hops to the channel's event loop. `StreamUpstreamConnection` and
/// `MultiplexedStreamConnection` are this with their handlers.
final class ExchangeChannel<Handler: ExchangeHandling>: PooledConnection {
    private let channel: any Channel
    private let handler: NIOLoopBound<Handler>

    private init(channel: any Channel, handler: NIOLoopBound<Handler>) {
        self.channel = channel
        self.handler = handler
    }

    /// The connection once `connecting` (a bootstrap's connect, whose initializer added a `Handler`) succeeds;
    /// a failure to connect becomes `ExchangeError.connectionFailed`.
    static func connected(_ connecting: EventLoopFuture<any Channel>, label: String)
        -> EventLoopFuture<ExchangeChannel> {
        connecting
            .flatMapThrowing { channel in
                let handler = try channel.pipeline.syncOperations.handler(type: Handler.self)
                return ExchangeChannel(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
            }
            .flatMapErrorThrowing { error in
                throw ExchangeError.connectionFailed(upstream: label, reason: "\(error)")
            }
    }

    /// Connects over TCP to `address`: `prepare` may add handlers in front (TLS), then come the DNS length
    /// framing and the handler `makeHandler` makes.
    static func connectStream(to address: SocketAddress, label: String, on loop: any EventLoop,
                              connectTimeout: TimeAmount, prepare: (@Sendable (any Channel) throws -> Void)?,
                              makeHandler: @escaping @Sendable () -> Handler) -> EventLoopFuture<ExchangeChannel> {
        let connecting = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try prepare?(channel)
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
                    try sync.addHandler(makeHandler())
                }
            }
            .connect(to: address)
        return connected(connecting, label: label)
    }

    /// Whether the connection can still carry exchanges.
    var isOpen: Bool { channel.isActive }

    /// Completes when the connection has closed, for whatever reason.
    var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

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
