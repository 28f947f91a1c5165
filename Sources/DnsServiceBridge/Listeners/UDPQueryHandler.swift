import NIOCore

/// Answers DNS queries arriving as UDP datagrams. Runs on the socket's event loop end to end: no hop per packet.
final class UDPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let handler: any QueryHandler
    private let counters: ListenerCounters
    private let flush = TickFlush()

    init(handler: any QueryHandler, counters: ListenerCounters) {
        self.handler = handler
        self.counters = counters
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let client = envelope.remoteAddress
        let bytes = Array(envelope.data.readableBytesView)
        let channel = context.channel
        let query: DNSMessage
        switch DatagramQuery(bytes, counters: counters) {
        case .query(let parsed): query = parsed
        case .formErr(let formErr): return send(formErr, to: client, on: channel)
        case .drop: return
        }
        let queryContext = QueryContext(client: nil, transport: .udp, eventLoop: context.eventLoop,
                                         clientAddress: client)
        handler.handle(query, context: queryContext).hop(to: context.eventLoop).assumeIsolated().whenSuccess {
            [self] reply in
            send(reply.truncated(toFit: query.maxUDPResponseSize), to: client, on: channel)
        }
    }

    private func send(_ reply: DNSMessage, to client: SocketAddress, on channel: any Channel) {
        let envelope = AddressedEnvelope(remoteAddress: client, data: channel.allocator.buffer(bytes: reply.bytes))
        channel.pipeline.write(envelope, promise: nil)  // no dynamic cast per datagram (see MultiplexedDatagramHandler)
        flush.flushSoon(channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A failed send to one client (e.g. ICMP unreachable) must not close the listening socket.
    }
}
