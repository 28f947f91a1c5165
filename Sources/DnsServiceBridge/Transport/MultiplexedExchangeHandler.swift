import NIOCore
import NIOSSL

/// The event-loop side of `MultiplexedStreamConnection`: several exchanges in flight on one TCP/TLS stream
/// (RFC 7766 6.2.1.1 pipelining, replies in any order). Each query leaves with an ID no other query in flight on
/// this connection has, and is completed only by a reply whose ID and question both match it.
final class MultiplexedExchangeHandler: ChannelInboundHandler, ExchangeHandling {
    typealias InboundIn = ByteBuffer

    private struct Pending {
        /// The query as sent, with this connection's ID.
        let query: DNSMessage
        let promise: EventLoopPromise<DNSMessage>
        let timer: Scheduled<Void>
        /// Tells a late completion (write failure, timer) of an earlier exchange that reused this ID apart.
        let serial: UInt64
        /// Frames read when the query was sent; unchanged at its deadline means the connection is stuck.
        let framesReadWhenSent: Int
    }

    private let label: String
    private let counters: TransportCounters
    /// Exchanges in flight on this connection before new ones are refused.
    let maxInFlight: Int
    private var pending = QueryIDTable<Pending>()
    private var random = ChaChaRandom()
    private var nextSerial: UInt64 = 0
    private var framesRead = 0
    /// Why the connection failed, once it did: given to every exchange still pending or started later.
    private var failure: ExchangeError?

    init(label: String, counters: TransportCounters, maxInFlight: Int) {
        self.label = label
        self.counters = counters
        self.maxInFlight = max(1, maxInFlight)
    }

    /// Exchanges in flight now.
    var inFlight: Int { pending.count }

    /// Sends `query` with an ID unique on this connection; the reply carries that ID (the caller restores its own).
    func start(_ query: DNSMessage, deadline: NIODeadline, channel: any Channel) -> EventLoopFuture<DNSMessage> {
        let loop = channel.eventLoop
        if let failure { return loop.makeFailedFuture(failure) }
        guard channel.isActive else {
            return loop.makeFailedFuture(ExchangeError.connectionClosed(upstream: label))
        }
        guard pending.count < maxInFlight, let id = pending.unusedID(using: &random) else {
            return loop.makeFailedFuture(ExchangeError.tooManyInFlight(upstream: label, limit: maxInFlight))
        }
        let sent = query.withID(id)
        let serial = nextSerial
        nextSerial &+= 1
        let promise = loop.makePromise(of: DNSMessage.self)
        let timer = loop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timedOut(id: id, serial: serial, channel: channel)
        }
        pending.insert(Pending(query: sent, promise: promise, timer: timer, serial: serial,
                               framesReadWhenSent: framesRead), under: id)
        channel.writeAndFlush(channel.allocator.framedDNSMessage(sent.bytes)).assumeIsolated().whenFailure { [self] _ in
            complete(id: id, serial: serial, .failure(failure ?? ExchangeError.connectionClosed(upstream: label)))
        }
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        framesRead &+= 1
        let frame = unwrapInboundIn(data)
        guard let reply = try? DNSMessage(bytes: Array(frame.readableBytesView)) else {
            // Without a readable header there is no telling which query this was for, nor whether the stream is
            // still in step: give the connection up.
            counters.mismatchedReplies.add(1, ordering: .relaxed)
            fail(ExchangeError.badReply(upstream: label, reason: "a reply on the stream is not a DNS message"),
                 context: context)
            return
        }
        guard let waiting = pending[reply.header.id] else {
            // Most likely the late reply to a query whose deadline passed.
            counters.unexpectedReplies.add(1, ordering: .relaxed)
            return
        }
        guard reply.isAnswer(to: waiting.query) else {
            counters.mismatchedReplies.add(1, ordering: .relaxed)
            complete(id: reply.header.id, serial: waiting.serial,
                     .failure(ExchangeError.badReply(upstream: label, reason: "the question does not match the query")))
            return
        }
        complete(id: reply.header.id, serial: waiting.serial, .success(reply))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let tlsError = error as? NIOSSLError, tlsError == .uncleanShutdown {
            // The peer closed TCP without a TLS close_notify: an ordinary close for DNS (a server dropping an
            // idle connection), which lets a reused connection be retried on a fresh one.
            fail(ExchangeError.connectionClosed(upstream: label), context: context)
            return
        }
        // Includes a certificate that does not verify: every exchange on this connection fails with the reason.
        fail(ExchangeError.connectionFailed(upstream: label, reason: "\(error)"), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(failure ?? ExchangeError.connectionClosed(upstream: label))
        context.fireChannelInactive()
    }

    private func timedOut(id: UInt16, serial: UInt64, channel: any Channel) {
        guard let waiting = pending[id], waiting.serial == serial else { return }
        let stuck = framesRead == waiting.framesReadWhenSent
        complete(id: id, serial: serial, .failure(ExchangeError.timeout(upstream: label)))
        if stuck {
            // Nothing at all came back since this query left: the connection (not just one slow answer) is dead,
            // and keeping it would send every later query into the same hole.
            let error = failure ?? ExchangeError.connectionFailed(upstream: label,
                                                                  reason: "nothing came back on the connection in time")
            failure = error
            failAll(error)
            channel.close(promise: nil)
        }
    }

    private func fail(_ error: ExchangeError, context: ChannelHandlerContext) {
        let first = failure ?? error
        failure = first
        failAll(first)
        context.close(promise: nil)
    }

    private func failAll(_ error: ExchangeError) {
        for waiting in pending.removeAll() {
            waiting.timer.cancel()
            waiting.promise.fail(error)
        }
    }

    private func complete(id: UInt16, serial: UInt64, _ result: Result<DNSMessage, any Error>) {
        guard let waiting = pending[id], waiting.serial == serial else { return }
        _ = pending.remove(id)
        waiting.timer.cancel()
        waiting.promise.completeWith(result)
    }
}
