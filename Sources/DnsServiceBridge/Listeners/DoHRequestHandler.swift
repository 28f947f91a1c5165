import NIOCore
import NIOHTTP1

/// One DoH exchange per HTTP request, on an HTTP/1.1 connection or an HTTP/2 stream (through NIO's HTTP/1 codec for
/// HTTP/2 frames): the request's query goes to the listener's engine and its reply comes back as
/// `application/dns-message` with `Cache-Control: max-age`; a request that is not a DoH query gets its HTTP error
/// and never reaches the engine. A body is read up to 65,535 bytes; past that the request is answered 413 at once.
final class DoHRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let engine: any QueryHandler
    private let counters: DoHCounters
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var tooLarge = false

    init(engine: any QueryHandler, counters: DoHCounters) {
        self.engine = engine
        self.counters = counters
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.removeAll(keepingCapacity: true)
            tooLarge = false
        case .body(var chunk):
            guard !tooLarge else { return }
            if body.count + chunk.readableBytes > DoHRequest.maxMessage {
                tooLarge = true
                body = []
                return
            }
            body += chunk.readBytes(length: chunk.readableBytes) ?? []
        case .end:
            guard let head else { return }
            self.head = nil
            answer(head, context: context)
        }
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let outcome: Result<DNSMessage, DoHRequest.Refusal> = tooLarge
            ? .failure(DoHRequest.Refusal(status: .payloadTooLarge, reason: "a DNS message is at most 65535 bytes"))
            : DoHRequest.query(method: head.method, uri: head.uri, contentType: head.headers.first(name: "content-type"),
                               body: body)
        body = []
        switch outcome {
        case .failure(let refusal):
            respond(refusal.status, contentType: "text/plain; charset=utf-8", body: Array((refusal.reason + "\n").utf8),
                    extra: refusal.status == .methodNotAllowed ? [("Allow", "GET, POST")] : [], to: head,
                    context: context)
        case .success(let query):
            let loop = context.eventLoop
            let queryContext = QueryContext(client: nil, transport: .https, eventLoop: loop,
                                            clientAddress: context.channel.remoteAddress)
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            engine.handle(query, context: queryContext).hop(to: loop).whenComplete { result in
                let (handler, context) = bound.value
                switch result {
                case .success(let reply):
                    handler.respond(.ok, contentType: DoHRequest.mediaType, body: reply.bytes,
                                    extra: [("Cache-Control", "max-age=\(reply.httpMaxAge)")], to: head,
                                    context: context)
                case .failure:
                    // Dropped by a rate limit: HTTP's own word for it (RFC 6585).
                    handler.respond(.tooManyRequests, contentType: "text/plain; charset=utf-8",
                                    body: Array("query rate limit exceeded\n".utf8), extra: [], to: head,
                                    context: context)
                }
            }
        }
    }

    private func respond(_ status: HTTPResponseStatus, contentType: String, body: [UInt8], extra: [(String, String)],
                         to request: HTTPRequestHead, context: ChannelHandlerContext) {
        counters.responded(status)
        var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", "\(body.count)")] + extra)
        // A request whose body was cut short cannot be followed by another on the same HTTP/1.1 connection.
        let keepAlive = request.isKeepAlive && status != .payloadTooLarge
        if request.version.major == 1 && !keepAlive { headers.add(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: request.version, status: status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        let written = context.writeAndFlushAndGetFuture(wrapOutboundOut(.end(nil)))
        if request.version.major == 1 && !keepAlive {
            written.whenComplete { [channel = context.channel] _ in channel.close(promise: nil) }
        }
    }
}

extension ChannelHandlerContext {
    fileprivate func writeAndFlushAndGetFuture(_ data: NIOAny) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        writeAndFlush(data, promise: promise)
        return promise.futureResult
    }
}
