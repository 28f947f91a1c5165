import NIOCore
import NIOPosix
import NIOSSL

/// A TCP (or, with a TLS handler in front, DoT) connection to one upstream, carrying one exchange at a time
/// and kept in the pool between exchanges, as CoreDNS's forward does.
typealias StreamUpstreamConnection = ExchangeChannel<StreamExchangeHandler>

extension ExchangeChannel where Handler == StreamExchangeHandler {
    /// Connects to `address`; `prepare` may add handlers in front (TLS) before the DNS framing.
    static func connect(to address: SocketAddress, label: String, on loop: any EventLoop,
                        connectTimeout: TimeAmount, counters: TransportCounters,
                        prepare: (@Sendable (any Channel) throws -> Void)? = nil)
        -> EventLoopFuture<StreamUpstreamConnection> {
        connectStream(to: address, label: label, on: loop, connectTimeout: connectTimeout, prepare: prepare) {
            StreamExchangeHandler(label: label, counters: counters)
        }
    }
}

/// The event-loop side of `StreamUpstreamConnection`.
final class StreamExchangeHandler: ChannelInboundHandler, ExchangeHandling {
    typealias InboundIn = ByteBuffer

    private struct Pending {
        let query: DNSMessage
        let promise: EventLoopPromise<DNSMessage>
        let timer: Scheduled<Void>
    }

    private let label: String
    private let counters: TransportCounters
    private var pending: Pending?

    init(label: String, counters: TransportCounters) {
        self.label = label
        self.counters = counters
    }

    func start(_ query: DNSMessage, deadline: NIODeadline, channel: any Channel) -> EventLoopFuture<DNSMessage> {
        let loop = channel.eventLoop
        guard pending == nil, channel.isActive else {
            return loop.makeFailedFuture(ExchangeError.connectionClosed(upstream: label))
        }
        let promise = loop.makePromise(of: DNSMessage.self)
        let timer = loop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            finish(.failure(ExchangeError.timeout(upstream: label)))
            channel.close(promise: nil)
        }
        pending = Pending(query: query, promise: promise, timer: timer)
        channel.writeAndFlush(channel.allocator.framedDNSMessage(query.bytes)).assumeIsolated().whenFailure { [self] _ in
            finish(.failure(ExchangeError.connectionClosed(upstream: label)))
        }
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard let pending else {
            counters.unexpectedReplies.add(1, ordering: .relaxed)
            return
        }
        guard let reply = try? DNSMessage(bytes: Array(frame.readableBytesView)),
              reply.isAnswer(to: pending.query) else {
            // On a stream a wrong reply means the connection is out of step: fail it rather than guess.
            counters.mismatchedReplies.add(1, ordering: .relaxed)
            finish(.failure(ExchangeError.badReply(upstream: label, reason: "ID or question does not match")))
            context.close(promise: nil)
            return
        }
        finish(.success(reply))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case NIOSSLError.handshakeFailed = error { counters.tlsHandshakeFailures.add(1, ordering: .relaxed) }
        finish(.failure(ExchangeError.connectionFailed(upstream: label, reason: "\(error)")))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(ExchangeError.connectionClosed(upstream: label)))
    }

    private func finish(_ result: Result<DNSMessage, any Error>) {
        guard let pending else { return }
        self.pending = nil
        pending.timer.cancel()
        pending.promise.completeWith(result)
    }
}
