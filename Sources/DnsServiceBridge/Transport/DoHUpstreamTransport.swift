import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import Synchronization

/// DNS over HTTPS (RFC 8484) to one upstream: one HTTP/2 connection over TLS (ALPN `h2`), every query a stream of
/// its own on it, as many at once as the server allows; opened on first use, opened again when it closes or fails,
/// closed after `expire` with nothing asked. Queries go with ID 0 (RFC 8484 section 4.1, cache friendly) by POST,
/// or GET with `?dns=` (forward's `doh_method`), and the reply gets the client's ID back. The certificate is always
/// verified, against the server name, else the upstream's IP address.
public final class DoHUpstreamTransport: UpstreamExchanger {
    public enum Method: String, Sendable, Hashable {
        case get = "GET", post = "POST"
    }

    public let label: String
    private let address: SocketAddress
    private let authority: String
    private let path: String
    private let method: Method
    private let sslContext: NIOSSLContext
    private let serverName: String?
    private let group: any EventLoopGroup
    private let connectTimeout: TimeAmount
    private let expire: TimeAmount
    let counters = TransportCounters()
    private let connection = ConnectionSlot()
    private let expiryTimer: RepeatedTask

    /// The current connection: its channel (once connected) and the multiplexer that opens streams on it.
    private struct Connection {
        let multiplexer: EventLoopFuture<NIOHTTP2Handler.StreamMultiplexer>
        var channel: (any Channel)?
        var lastUsed: NIODeadline
    }

    /// The connection behind a lock, shared with the expiry timer.
    private final class ConnectionSlot: Sendable {
        private let state = Mutex<Connection?>(nil)

        func withLock<Result>(_ body: (inout Connection?) -> Result) -> Result {
            state.withLock { body(&$0) }
        }

        /// Takes the connection away when nothing used it for `expire`; returns its channel to close.
        func takeIfIdle(for expire: TimeAmount, now: NIODeadline = .now()) -> (any Channel)? {
            state.withLock { current in
                guard let open = current, now - open.lastUsed >= expire else { return nil }
                current = nil
                return open.channel
            }
        }
    }

    public init(label: String, address: SocketAddress, sslContext: NIOSSLContext, serverName: String?, path: String,
                method: Method, group: any EventLoopGroup, expire: TimeAmount = .seconds(10),
                connectTimeout: TimeAmount = .seconds(2)) {
        self.label = label
        self.address = address
        let host = address.ipAddress.map { $0.contains(":") ? "[\($0)]" : $0 } ?? label
        // SNI carries names only; with an IP literal NIOSSL checks the certificate's IP SANs instead.
        self.serverName = serverName.flatMap { IPAddressLiteral.isIPAddress($0) ? nil : $0 }
        authority = (self.serverName ?? host) + (address.port.map { $0 == 443 ? "" : ":\($0)" } ?? "")
        self.path = path
        self.method = method
        self.sslContext = sslContext
        self.group = group
        self.connectTimeout = connectTimeout
        self.expire = expire
        let slot = connection
        let sweep = ConnectionPool<StreamUpstreamConnection>.sweepInterval(expire: expire)
        expiryTimer = group.any().scheduleRepeatedTask(initialDelay: sweep, delay: sweep) { _ in
            slot.takeIfIdle(for: expire)?.close(promise: nil)
        }
    }

    public func exchange(_ query: DNSMessage, over proto: ExchangeProtocol, deadline: NIODeadline)
        -> EventLoopFuture<DNSMessage> {
        counters.exchanges.add(1, ordering: .relaxed)
        let loop = group.any()
        let request = request(for: query.withID(0))
        return multiplexer(on: loop).flatMap { [label] multiplexer -> EventLoopFuture<[UInt8]> in
            let promise = loop.makePromise(of: [UInt8].self)
            let timeout = loop.scheduleTask(deadline: deadline) {
                promise.fail(ExchangeError.timeout(upstream: label))
            }
            promise.futureResult.whenComplete { _ in timeout.cancel() }
            multiplexer.createStreamChannel { stream in
                stream.eventLoop.makeCompletedFuture {
                    try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ClientCodec(httpProtocol: .https))
                    try stream.pipeline.syncOperations.addHandler(DoHResponseHandler(label: label, promise: promise))
                }
            }.whenComplete { created in
                switch created {
                case .success(let stream):
                    promise.futureResult.whenFailure { _ in stream.close(promise: nil) }
                    stream.write(HTTPClientRequestPart.head(request.head), promise: nil)
                    if let body = request.body {
                        stream.write(HTTPClientRequestPart.body(.byteBuffer(stream.allocator.buffer(bytes: body))),
                                     promise: nil)
                    }
                    stream.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                case .failure(let error):
                    promise.fail(ExchangeError.connectionFailed(upstream: label, reason: "\(error)"))
                }
            }
            return promise.futureResult
        }.flatMapErrorThrowing { [self] error -> [UInt8] in
            // A connection that failed is not used again: the next exchange opens another.
            switch error as? ExchangeError {
            case .timeout, .upstreamStatus, .badReply: break  // one stream's trouble; the connection is fine
            default: dropConnection()
            }
            throw (error as? ExchangeError) ?? ExchangeError.connectionFailed(upstream: label, reason: "\(error)")
        }.flatMapThrowing { [label, counters] bytes -> DNSMessage in
            let reply: DNSMessage
            do { reply = try DNSMessage(bytes: bytes) } catch {
                counters.mismatchedReplies.add(1, ordering: .relaxed)
                throw ExchangeError.badReply(upstream: label, reason: "\(error)")
            }
            guard reply.header.isResponse, reply.question == query.question else {
                counters.mismatchedReplies.add(1, ordering: .relaxed)
                throw ExchangeError.badReply(upstream: label, reason: "not the answer to the query")
            }
            return reply.withID(query.header.id)
        }
    }

    /// The request for `query` (ID 0): POST with the message as body, or GET with it in `?dns=`.
    private func request(for query: DNSMessage) -> (head: HTTPRequestHead, body: [UInt8]?) {
        var headers = HTTPHeaders([("host", authority), ("accept", DoHRequest.mediaType)])
        switch method {
        case .post:
            headers.add(name: "content-type", value: DoHRequest.mediaType)
            headers.add(name: "content-length", value: "\(query.bytes.count)")
            return (HTTPRequestHead(version: .http2, method: .POST, uri: path, headers: headers), query.bytes)
        case .get:
            let separator = path.contains("?") ? "&" : "?"
            return (HTTPRequestHead(version: .http2, method: .GET,
                                    uri: path + separator + "dns=" + Base64URL.encode(query.bytes), headers: headers),
                    nil)
        }
    }

    /// The multiplexer of the open connection, or of a new one.
    private func multiplexer(on loop: any EventLoop) -> EventLoopFuture<NIOHTTP2Handler.StreamMultiplexer> {
        let now = NIODeadline.now()
        return connection.withLock { current in
            if var open = current, open.channel?.isActive != false, now - open.lastUsed < expire {
                open.lastUsed = now
                current = open
                counters.streamConnectionHits.add(1, ordering: .relaxed)
                return open.multiplexer
            }
            current?.channel?.close(promise: nil)
            let opened = connect(on: loop)
            current = Connection(multiplexer: opened.map(\.1), channel: nil, lastUsed: now)
            opened.whenSuccess { [self] channel, _ in
                connection.withLock { if $0?.channel == nil { $0?.channel = channel } }
            }
            counters.streamConnectionMisses.add(1, ordering: .relaxed)
            return current!.multiplexer
        }
    }

    private func connect(on loop: any EventLoop)
        -> EventLoopFuture<(any Channel, NIOHTTP2Handler.StreamMultiplexer)> {
        let (sslContext, serverName, counters) = (sslContext, serverName, counters)
        return ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                }
            }
            .connect(to: address)
            .flatMap { channel in
                channel.configureHTTP2Pipeline(
                    mode: .client, connectionConfiguration: NIOHTTP2Handler.ConnectionConfiguration(),
                    streamConfiguration: NIOHTTP2Handler.StreamConfiguration()
                ) { $0.eventLoop.makeSucceededVoidFuture() }
                .map { (channel, $0) }
            }
            .always { result in
                if case .failure(let error) = result, error is NIOSSLError || error is BoringSSLError {
                    counters.tlsHandshakeFailures.add(1, ordering: .relaxed)
                }
            }
    }

    private func dropConnection() {
        let dropped = connection.withLock { current -> Connection? in
            defer { current = nil }
            return current
        }
        dropped?.channel?.close(promise: nil)
    }

    public var droppedReplies: Int { counters.mismatchedReplies.load(ordering: .relaxed) }

    public var idleConnections: Int { connection.withLock { $0?.channel?.isActive == true ? 1 : 0 } }

    public func close() {
        expiryTimer.cancel()
        dropConnection()
    }
}

/// Collects one DoH response on its HTTP/2 stream: 200 with the DNS message as body, or the failure.
private final class DoHResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let label: String
    private let promise: EventLoopPromise<[UInt8]>
    private var status: HTTPResponseStatus?
    private var body: [UInt8] = []

    init(label: String, promise: EventLoopPromise<[UInt8]>) {
        self.label = label
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
        case .body(var chunk):
            guard body.count + chunk.readableBytes <= DNSMessage.maxSize else {
                promise.fail(ExchangeError.badReply(upstream: label, reason: "a body over 65535 bytes"))
                context.close(promise: nil)
                return
            }
            body += chunk.readBytes(length: chunk.readableBytes) ?? []
        case .end:
            if status == .ok {
                promise.succeed(body)
            } else {
                promise.fail(ExchangeError.upstreamStatus(upstream: label, status: "HTTP \(status?.code ?? 0)"))
            }
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ExchangeError.connectionClosed(upstream: label))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(ExchangeError.connectionFailed(upstream: label, reason: "\(error)"))
        context.close(promise: nil)
    }
}
