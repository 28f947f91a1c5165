import NIOCore
import NIOSSL

/// Answers DNS queries on one TCP or DoT connection (RFC 7766): pipelined queries are answered as each
/// completes, possibly out of order. Bounded: at most `maxPipelined` in flight before reading pauses, and reading
/// pauses too while the replies written are not being read (the channel is over its write watermark); a client that
/// leaves them unread for `drainTimeout` is disconnected, so one that never reads holds a bounded amount.
final class StreamQueryHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let handler: any QueryHandler
    private let transport: ClientTransport
    private let counters: ListenerCounters
    private let maxPipelined: Int
    private let drainTimeout: TimeAmount
    /// The connection's message deadline, paused while this handler holds reading back.
    private let frameDeadline: FrameDeadlineHandler?
    /// The connection's place in its listener's table, told when it is busy (so it is not taken as idle).
    private let slot: ConnectionTable.Slot?
    /// Armed while the client leaves our replies unread.
    private var drainDeadline: Scheduled<Void>?
    private var inFlight = 0
    private var readHeld = false
    private var inputClosed = false
    /// The client's address, asked of the socket once: NIO makes a getpeername system call per ask.
    private var remote: SocketAddress?
    /// Replies completed in one event-loop tick (a batch of upstream answers) leave in one write.
    private let flush = TickFlush()

    init(handler: any QueryHandler, transport: ClientTransport, counters: ListenerCounters, maxPipelined: Int,
         drainTimeout: TimeAmount, frameDeadline: FrameDeadlineHandler? = nil, slot: ConnectionTable.Slot? = nil) {
        self.frameDeadline = frameDeadline
        self.slot = slot
        self.handler = handler
        self.transport = transport
        self.counters = counters
        self.maxPipelined = maxPipelined
        self.drainTimeout = drainTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = Array(unwrapInboundIn(data).readableBytesView)
        let query: DNSMessage
        do {
            query = try DNSMessage(bytes: bytes)
        } catch {
            guard let formErr = DNSMessage.errorReply(toUnparsed: bytes, rcode: .formErr) else {
                // Not DNS at all: the stream cannot be trusted to be in step any more.
                counters.closedTCP.add(1, ordering: .relaxed)
                context.close(promise: nil)
                return
            }
            counters.formErrReplies.add(1, ordering: .relaxed)
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.framedDNSMessage(formErr.bytes)),
                                  promise: nil)
            return
        }
        guard !query.header.isResponse else {
            counters.closedTCP.add(1, ordering: .relaxed)
            context.close(promise: nil)
            return
        }
        inFlight += 1
        slot?.queryStarted()
        if remote == nil { remote = context.remoteAddress }
        let queryContext = QueryContext(client: nil, transport: transport,
                                        eventLoop: context.eventLoop, clientAddress: remote)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        handler.handle(query, context: queryContext).whenComplete { result in
            let (handler, context) = bound.value
            // A dropped query (`ratelimit { action drop }`) gets nothing; the connection stays for the others.
            handler.replied(try? result.get(), context: context)
        }
    }

    private func replied(_ reply: DNSMessage?, context: ChannelHandlerContext) {
        inFlight -= 1
        slot?.queryEnded()
        guard context.channel.isActive else { return }
        if let reply {
            context.write(wrapOutboundOut(context.channel.allocator.framedDNSMessage(reply.bytes)), promise: nil)
            flush.flushSoon(context.channel)
        }
        resumeReadingIfAllowed(context)
        if inputClosed && inFlight == 0 { close(context) }
    }

    private func resumeReadingIfAllowed(_ context: ChannelHandlerContext) {
        guard readHeld && inFlight < maxPipelined && context.channel.isWritable else { return }
        readHeld = false
        frameDeadline?.resume()
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            drainDeadline?.cancel()
            drainDeadline = nil
            resumeReadingIfAllowed(context)
        } else if drainDeadline == nil {
            drainDeadline = context.eventLoop.assumeIsolated().scheduleTask(in: drainTimeout) { [self] in
                drainDeadline = nil
                counters.closedTCP.add(1, ordering: .relaxed)
                counters.undrained.add(1, ordering: .relaxed)
                context.close(promise: nil)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        drainDeadline?.cancel()
        drainDeadline = nil
        context.fireChannelInactive()
    }

    /// Closes the connection after the replies written but not yet flushed (a close would drop them).
    private func close(_ context: ChannelHandlerContext) {
        context.flush()
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        // Backpressure: a client pipelining faster than upstreams answer, or not reading what we answer, waits
        // instead of growing memory.
        if inFlight >= maxPipelined || !context.channel.isWritable {
            readHeld = true
            frameDeadline?.pause()
            return
        }
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            // The client half-closed: answer what is in flight, then close.
            inputClosed = true
            if inFlight == 0 { close(context) }
        case let idle as IdleStateHandler.IdleStateEvent where idle == .read:
            if inFlight == 0 {
                counters.closedTCP.add(1, ordering: .relaxed)
                close(context)
            }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case NIOSSLError.handshakeFailed = error { counters.tlsHandshakeFailures.add(1, ordering: .relaxed) }
        counters.closedTCP.add(1, ordering: .relaxed)
        context.close(promise: nil)
    }
}
