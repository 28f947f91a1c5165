import NIOCore
import NIOPosix
import NIOSSL

/// DNS over TLS (RFC 7858) to one upstream: queries pipelined on few long-lived TLS connections (RFC 7858 3.4,
/// RFC 7766 6.2.1.1), replies matched by ID and question. The certificate is always verified, against
/// `serverName`, else the upstream's IP address; one that does not verify fails the exchange.
public final class DoTUpstreamTransport: UpstreamExchanger {
    public let label: String
    private let address: SocketAddress
    private let group: any EventLoopGroup
    private let pool: MultiplexedConnectionPool
    private let sslContext: NIOSSLContext
    private let serverName: String?
    private let connectTimeout: TimeAmount
    let counters = TransportCounters()
    private let expiryTimer: RepeatedTask

    /// - Parameters:
    ///   - serverName: sent as SNI and verified; nil (or an IP address) verifies the certificate's IP addresses.
    ///   - maxInFlightPerConnection: queries pipelined on one connection before another is opened.
    ///   - maxConnections: connections to this upstream; with all of them full, exchanges fail at once.
    public init(label: String, address: SocketAddress, sslContext: NIOSSLContext, serverName: String?,
                group: any EventLoopGroup, expire: TimeAmount = .seconds(10), maxIdleConnections: Int = 0,
                connectTimeout: TimeAmount = .seconds(2), maxInFlightPerConnection: Int = 64,
                maxConnections: Int = 8) {
        self.label = label
        self.address = address
        self.group = group
        self.sslContext = sslContext
        // SNI carries names only; with an IP literal NIOSSL checks the certificate's IP SANs instead.
        self.serverName = serverName.flatMap { IPAddressLiteral.isIPAddress($0) ? nil : $0 }
        self.connectTimeout = connectTimeout
        let pool = MultiplexedConnectionPool(label: label, expire: expire, maxIdle: maxIdleConnections,
                                             maxInFlightPerConnection: maxInFlightPerConnection,
                                             maxConnections: maxConnections)
        self.pool = pool
        let sweep = ConnectionPool<StreamUpstreamConnection>.sweepInterval(expire: expire)
        expiryTimer = group.any().scheduleRepeatedTask(initialDelay: sweep, delay: sweep) { _ in
            pool.closeExpired()
        }
    }

    public func exchange(_ query: DNSMessage, over proto: ExchangeProtocol, deadline: NIODeadline)
        -> EventLoopFuture<DNSMessage> {
        let loop = group.any()
        let clientID = query.header.id
        counters.exchanges.add(1, ordering: .relaxed)
        // The connection gives the query an ID unique among those in flight on it; the client's is restored.
        return pool.exchange(query, deadline: deadline, on: loop, counters: counters) {
            [address, label, counters, connectTimeout, sslContext, serverName, pool] in
            MultiplexedStreamConnection.connect(to: address, label: label, on: loop, connectTimeout: connectTimeout,
                                                counters: counters, maxInFlight: pool.maxInFlightPerConnection) {
                channel in
                let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: serverName)
                try channel.pipeline.syncOperations.addHandler(handler)
            }
        }.map { $0.withID(clientID) }
    }

    public var droppedReplies: Int { counters.mismatchedReplies.load(ordering: .relaxed) }

    /// Open TLS connections (idle or busy), for metrics.
    public var idleConnections: Int { pool.count }

    /// Queries in flight over all connections.
    var inFlight: Int { pool.inFlight }

    public func close() {
        expiryTimer.cancel()
        pool.closeAll()
    }
}

/// Recognises IP address literals (no name resolution).
enum IPAddressLiteral {
    static func isIPAddress(_ text: String) -> Bool {
        (try? SocketAddress(ipAddress: text, port: 0)) != nil
    }
}
