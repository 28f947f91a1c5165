import NIOCore
import NIOPosix

/// A connected UDP socket to one upstream, carrying one exchange at a time. Being connected, the kernel
/// delivers only datagrams from the upstream's address and port; the handler also requires ID and question
/// to match (RFC 5452), so a spoofed or stray reply is dropped and the exchange keeps waiting.
typealias UDPUpstreamConnection = ExchangeChannel<UDPExchangeHandler>

extension ExchangeChannel where Handler == UDPExchangeHandler {
    /// Opens a socket on a random ephemeral port, connected to `address`.
    static func connect(to address: SocketAddress, label: String, on loop: any EventLoop,
                        counters: TransportCounters) -> EventLoopFuture<UDPUpstreamConnection> {
        let connecting = DatagramBootstrap(group: loop)
            // NIO's default 2048-byte buffer would cut EDNS0 replies larger than that. The buffer stays with the
            // socket, and the pool may hold thousands of sockets, so it is not 64 KiB (see `receiveBufferSize`).
            .channelOption(.recvAllocator,
                           value: FixedSizeRecvByteBufferAllocator(capacity: UDPExchangeHandler.receiveBufferSize))
            // One exchange at a time: after its reply the next read would only find EAGAIN, a wasted syscall.
            .channelOption(.maxMessagesPerRead, value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = UDPExchangeHandler(upstream: address, label: label, counters: counters)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(to: address)
        return connected(connecting, label: label)
    }
}

/// The event-loop side of `UDPUpstreamConnection`: the one exchange in progress and the socket's deadline timer.
///
/// The timer belongs to the socket, not to the exchange: scheduling one per exchange and cancelling it when the
/// reply came was 7% of the core under dnsperf (NIO's cancel searches its timer heap, which holds one timer per
/// pooled socket in flight). It stays armed after a reply; when it fires for an exchange that has finished, it
/// re-arms for the one now in progress, or rests if there is none. A deadline still fails its exchange on time.
final class UDPExchangeHandler: ChannelInboundHandler, ExchangeHandling {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private struct Pending {
        let query: DNSMessage
        let promise: EventLoopPromise<DNSMessage>
        let deadline: NIODeadline
    }

    private struct ArmedTimer {
        let firesAt: NIODeadline
        let task: Scheduled<Void>
    }

    /// What an upstream UDP socket reads at once: 4 KiB, about the largest EDNS0 size in common use. A power of
    /// two, because NIO rounds a buffer's capacity up to one and every pooled socket keeps its buffer: the 4097
    /// bytes read before (to tell a cut reply) took 8 KiB each, 80 MiB with 10,000 sockets open.
    static let receiveBufferSize = 4096

    /// The largest reply taken over UDP. A read that fills the buffer may have been cut by the kernel, so such a
    /// reply, like any larger one, is treated as truncated and asked again over TCP.
    static let largestReply = receiveBufferSize - 1

    private let upstream: SocketAddress
    private let label: String
    private let counters: TransportCounters
    private var pending: Pending?
    private var timer: ArmedTimer?

    init(upstream: SocketAddress, label: String, counters: TransportCounters) {
        self.upstream = upstream
        self.label = label
        self.counters = counters
    }

    func start(_ query: DNSMessage, deadline: NIODeadline, channel: any Channel) -> EventLoopFuture<DNSMessage> {
        let loop = channel.eventLoop
        guard pending == nil else {
            // The pool hands a connection to one exchange at a time; this is a bug guard, not a path.
            return loop.makeFailedFuture(ExchangeError.connectionClosed(upstream: label))
        }
        let promise = loop.makePromise(of: DNSMessage.self)
        pending = Pending(query: query, promise: promise, deadline: deadline)
        armTimer(for: deadline, on: loop)
        let envelope = AddressedEnvelope(remoteAddress: upstream, data: channel.allocator.buffer(bytes: query.bytes))
        // Through the pipeline, whose generic write is inlined here: no dynamic cast of the envelope per datagram.
        let written = loop.makePromise(of: Void.self)
        channel.pipeline.writeAndFlush(envelope, promise: written)
        written.futureResult.assumeIsolated().whenFailure { [self] error in
            finish(.failure(ExchangeError.connectionFailed(upstream: label, reason: "\(error)")))
        }
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard let pending else {
            counters.unexpectedReplies.add(1, ordering: .relaxed)
            return
        }
        // The socket is connected, so the kernel already filters by source; checked again so that a reply is
        // never accepted from anywhere but the upstream, whatever the socket layer does.
        guard envelope.remoteAddress == upstream else {
            counters.mismatchedReplies.add(1, ordering: .relaxed)
            return
        }
        if envelope.data.readableBytes > Self.largestReply {
            // More than we take over UDP (and possibly cut by the kernel). If it is this query's reply (its ID),
            // answer as a server that could not fit it would: TC set, so the engine or the client goes to TCP. (A spoofer who
            // guessed the ID gains nothing but a retry over TCP.)
            guard envelope.data.getInteger(at: envelope.data.readerIndex, as: UInt16.self) == pending.query.header.id
            else {
                counters.mismatchedReplies.add(1, ordering: .relaxed)
                return
            }
            finish(.success(pending.query.truncatedEmptyReply()))
            return
        }
        guard let reply = try? DNSMessage(bytes: Array(envelope.data.readableBytesView)),
              reply.isAnswer(to: pending.query) else {
            counters.mismatchedReplies.add(1, ordering: .relaxed)
            return
        }
        finish(.success(reply))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP port unreachable arrives here as ECONNREFUSED on a connected socket.
        finish(.failure(ExchangeError.connectionFailed(upstream: label, reason: "\(error)")))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.task.cancel()
        timer = nil
        finish(.failure(ExchangeError.connectionClosed(upstream: label)))
    }

    /// Makes sure the timer fires no later than `deadline`; an armed timer firing earlier is left as it is.
    private func armTimer(for deadline: NIODeadline, on loop: any EventLoop) {
        if let timer, timer.firesAt <= deadline { return }
        timer?.task.cancel()
        let task = loop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in timerFired(on: loop) }
        timer = ArmedTimer(firesAt: deadline, task: task)
    }

    private func timerFired(on loop: any EventLoop) {
        timer = nil
        guard let pending else { return }
        if loop.now >= pending.deadline {
            finish(.failure(ExchangeError.timeout(upstream: label)))
        } else {
            armTimer(for: pending.deadline, on: loop)
        }
    }

    private func finish(_ result: Result<DNSMessage, any Error>) {
        guard let pending else { return }
        self.pending = nil
        pending.promise.completeWith(result)
    }
}
