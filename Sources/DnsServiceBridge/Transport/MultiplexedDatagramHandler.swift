import NIOCore

/// The event-loop side of one long-lived UDP socket that carries many exchanges with one upstream at once, as
/// dnsdist sends to its backends: each query leaves with a random ID no other query in flight on this socket has,
/// and is completed only by a datagram from the upstream whose ID and question both match it (RFC 5452).
///
/// Built for throughput: writes are flushed once per event-loop tick (the kernel gets them in one `sendmmsg`),
/// replies are read many at a time, and deadlines are enforced by one sweep per socket instead of a timer per query.
final class MultiplexedDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private struct Pending {
        /// The query as the engine gave it, with its own ID (the socket's ID is the key it waits under).
        let query: DNSMessage
        let promise: EventLoopPromise<DNSMessage>
        let deadline: NIODeadline
    }

    /// How often deadlines are checked: a timed-out exchange fails at most this late.
    static let sweepInterval: TimeAmount = .milliseconds(50)
    /// At most this many IDs of the 65,536 are in flight on one socket; past it the lane opens another socket
    /// rather than drawing ever longer for a free ID.
    static let maxInFlight = 16_384

    private let upstream: SocketAddress
    private let label: String
    private let counters: TransportCounters
    private var pending: [UInt16: Pending] = [:]
    private let flush = TickFlush()
    private var random = ChaChaRandom()
    private var sweeper: Scheduled<Void>?
    private var channel: (any Channel)?
    /// When the socket was opened: it takes new queries for `expire`, so source ports rotate as in a pool.
    private let openedAt: NIODeadline
    private let expire: TimeAmount
    /// When the last exchange finished; a socket idle for `expire` closes, as an idle pooled one would.
    private var idleSince: NIODeadline
    /// Set once the lane gives it no new queries: it closes when the last exchange on it finishes.
    private var retired = false

    init(upstream: SocketAddress, label: String, counters: TransportCounters, expire: TimeAmount) {
        self.upstream = upstream
        self.label = label
        self.counters = counters
        self.expire = expire
        openedAt = .now()
        idleSince = openedAt
    }

    /// Whether the socket should take another exchange now: open, not full, not yet `expire` old.
    func takesQueries(now: NIODeadline) -> Bool {
        !retired && channel?.isActive == true && pending.count < Self.maxInFlight && now - openedAt < expire
    }

    /// No new queries from now on; the socket closes once the ones in flight have finished.
    func retire() {
        retired = true
        closeIfDrained()
    }

    private func closeIfDrained() {
        if retired && pending.isEmpty { channel?.close(promise: nil) }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        channel = context.channel
        scheduleSweep(on: context.eventLoop)
    }

    private func scheduleSweep(on loop: any EventLoop) {
        sweeper = loop.assumeIsolated().scheduleTask(in: Self.sweepInterval) { [self] in
            sweep()
            if channel?.isActive == true { scheduleSweep(on: loop) }
        }
    }

    /// Sends `query` under an ID unique on this socket; the reply completes with the query's own ID restored.
    /// Called on the socket's event loop only.
    func start(_ query: DNSMessage, deadline: NIODeadline, on loop: any EventLoop) -> EventLoopFuture<DNSMessage> {
        guard let channel, channel.isActive else {
            return loop.makeFailedFuture(ExchangeError.connectionClosed(upstream: label))
        }
        guard let id = unusedID() else {
            return loop.makeFailedFuture(ExchangeError.tooManyInFlight(upstream: label, limit: Self.maxInFlight))
        }
        let promise = loop.makePromise(of: DNSMessage.self)
        pending[id] = Pending(query: query, promise: promise, deadline: deadline)
        // The socket's ID goes straight into the datagram, not into a copy of the message first.
        var datagram = channel.allocator.buffer(bytes: query.bytes)
        datagram.setInteger(id, at: datagram.readerIndex)
        // No promise per write: a datagram the kernel refuses is lost like one lost on the way, and the sweep
        // times the exchange out. An ICMP refusal comes back through `errorCaught`.
        // Through the pipeline: its write is generic and inlined, so the envelope is wrapped with no dynamic cast
        // (Channel's own write is not specialised for an existential channel and cast each datagram).
        channel.pipeline.write(AddressedEnvelope(remoteAddress: upstream, data: datagram), promise: nil)
        flush.flushSoon(channel)
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        // The socket is connected, so the kernel already filters by source; checked again so that a reply is
        // never accepted from anywhere but the upstream, whatever the socket layer does.
        guard envelope.remoteAddress == upstream,
              let id = envelope.data.getInteger(at: envelope.data.readerIndex, as: UInt16.self) else {
            counters.mismatchedReplies.add(1, ordering: .relaxed)
            return
        }
        guard let waiting = pending[id] else {
            // Most likely the late reply to a query whose deadline passed.
            counters.unexpectedReplies.add(1, ordering: .relaxed)
            return
        }
        if envelope.data.readableBytes > UDPExchangeHandler.largestReply {
            // More than we take over UDP: answered as a server that could not fit it would, TC set, so the engine
            // or the client goes to TCP (see UDPExchangeHandler).
            complete(id, .success(waiting.query.truncatedEmptyReply()))
            return
        }
        // The query's own ID goes back in before parsing, so the reply needs no second copy to restore it.
        var bytes = Array(envelope.data.readableBytesView)
        bytes.setUInt16(waiting.query.header.id, at: 0)
        guard let reply = try? DNSMessage(bytes: bytes), reply.isAnswer(to: waiting.query) else {
            // A spoofer who guessed the ID, or garbage: dropped, and the exchange keeps waiting for the real one.
            counters.mismatchedReplies.add(1, ordering: .relaxed)
            return
        }
        complete(id, .success(reply))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP port unreachable arrives as ECONNREFUSED on a connected socket, with no hint of which query caused
        // it: nothing listens at the upstream, so every exchange waiting here fails now rather than at its deadline
        // (the engine moves on to the next upstream, as it does after a refused exchange on its own socket).
        failAll(ExchangeError.connectionFailed(upstream: label, reason: "\(error)"))
    }

    func channelInactive(context: ChannelHandlerContext) {
        sweeper?.cancel()
        sweeper = nil
        failAll(ExchangeError.connectionClosed(upstream: label))
        context.fireChannelInactive()
    }

    private func sweep(now: NIODeadline = .now()) {
        guard !pending.isEmpty else {
            if now - idleSince >= expire { channel?.close(promise: nil) }
            return
        }
        let expired = pending.compactMap { id, waiting in waiting.deadline <= now ? id : nil }
        for id in expired {
            complete(id, .failure(ExchangeError.timeout(upstream: label)))
        }
    }

    private func failAll(_ error: ExchangeError) {
        let all = pending
        pending.removeAll()
        idleSince = .now()
        for waiting in all.values { waiting.promise.fail(error) }
        closeIfDrained()
    }

    private func complete(_ id: UInt16, _ result: Result<DNSMessage, any Error>) {
        guard let waiting = pending.removeValue(forKey: id) else { return }
        if pending.isEmpty {
            idleSince = .now()
            closeIfDrained()
        }
        waiting.promise.completeWith(result)
    }

    /// A random ID not in flight here. At most `maxInFlight` (a quarter) of the IDs are taken, so a draw fails
    /// with probability at most 1/4 and 32 draws all fail with probability 2^-64.
    private func unusedID() -> UInt16? {
        for _ in 0..<32 {
            let id = UInt16.random(in: .min ... .max, using: &random)
            if pending[id] == nil { return id }
        }
        return nil
    }
}
