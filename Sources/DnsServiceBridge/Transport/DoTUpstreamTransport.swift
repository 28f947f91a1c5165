import NIOCore
import NIOPosix
import NIOSSL

/// DNS over TLS (RFC 7858) to one upstream: pooled TLS connections, one exchange at a time on each, reused
/// until they expire. The certificate is always verified (against `serverName`, else the upstream's IP).
public final class DoTUpstreamTransport: UpstreamExchanger {
    public let label: String
    private let address: SocketAddress
    private let group: any EventLoopGroup
    private let pool: ConnectionPool<StreamUpstreamConnection>
    private let sslContext: NIOSSLContext
    private let serverName: String?
    private let connectTimeout: TimeAmount
    let counters = TransportCounters()
    private let expiryTimer: RepeatedTask

    public init(label: String, address: SocketAddress, sslContext: NIOSSLContext, serverName: String?,
                group: any EventLoopGroup, expire: TimeAmount = .seconds(10), maxIdleConnections: Int = 0,
                connectTimeout: TimeAmount = .seconds(2)) {
        self.label = label
        self.address = address
        self.group = group
        self.sslContext = sslContext
        // SNI carries names only; with an IP literal NIOSSL checks the certificate's IP SANs instead.
        self.serverName = serverName.flatMap { IPAddressLiteral.isIPAddress($0) ? nil : $0 }
        self.connectTimeout = connectTimeout
        let pool = ConnectionPool<StreamUpstreamConnection>(expire: expire, maxIdle: maxIdleConnections)
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
        let sent = query.withID(UInt16.random(in: .min ... .max))
        counters.exchanges.add(1, ordering: .relaxed)
        return pool.exchange(sent, deadline: deadline, on: loop) {
            [address, label, counters, connectTimeout, sslContext, serverName] in
            StreamUpstreamConnection.connect(to: address, label: label, on: loop, connectTimeout: connectTimeout,
                                             counters: counters) { channel in
                let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: serverName)
                try channel.pipeline.syncOperations.addHandler(handler)
            }
        }.map { $0.withID(clientID) }
    }

    public var droppedReplies: Int { counters.mismatchedReplies.load(ordering: .relaxed) }

    public var idleConnections: Int { pool.count }

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
