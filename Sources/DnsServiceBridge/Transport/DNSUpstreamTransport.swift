import NIOCore
import NIOPosix
import Synchronization

/// Plain DNS to one upstream over UDP and TCP, each with its own connection pool, or with UDP multiplexed over a
/// few long-lived sockets per event loop (`multiplex_udp`).
/// Every exchange leaves with a fresh random ID (restored in the reply), so IDs are unpredictable.
public final class DNSUpstreamTransport: UpstreamExchanger {
    public let label: String
    /// Where the upstream listens (the UDP relay opens its own sockets to it).
    let address: SocketAddress
    /// How long a long-lived UDP socket takes new queries (`expire`).
    let expire: TimeAmount
    private let group: any EventLoopGroup
    private let udpPool: ConnectionPool<UDPUpstreamConnection>
    private let tcpPool: ConnectionPool<StreamUpstreamConnection>
    /// Set with `multiplex_udp`: UDP exchanges go here instead of `udpPool`.
    private let multiplexer: DatagramMultiplexer?
    private let connectTimeout: TimeAmount
    let counters = TransportCounters()
    private let random = Mutex(ChaChaRandom())
    private let expiryTimer: RepeatedTask

    public init(label: String, address: SocketAddress, group: any EventLoopGroup, expire: TimeAmount = .seconds(10),
                maxIdleConnections: Int = 0, connectTimeout: TimeAmount = .seconds(2), multiplexUDP: Bool = false) {
        self.label = label
        self.address = address
        self.expire = expire
        self.group = group
        self.connectTimeout = connectTimeout
        let udpPool = ConnectionPool<UDPUpstreamConnection>(expire: expire, maxIdle: maxIdleConnections)
        let tcpPool = ConnectionPool<StreamUpstreamConnection>(expire: expire, maxIdle: maxIdleConnections)
        self.udpPool = udpPool
        multiplexer = multiplexUDP
            ? DatagramMultiplexer(upstream: address, label: label, group: group, expire: expire, counters: counters)
            : nil
        self.tcpPool = tcpPool
        let sweep = ConnectionPool<StreamUpstreamConnection>.sweepInterval(expire: expire)
        expiryTimer = group.any().scheduleRepeatedTask(initialDelay: sweep, delay: sweep) { _ in
            udpPool.closeExpired()
            tcpPool.closeExpired()
        }
    }

    public func exchange(_ query: DNSMessage, over proto: ExchangeProtocol, deadline: NIODeadline)
        -> EventLoopFuture<DNSMessage> {
        let loop = group.any()
        let clientID = query.header.id
        counters.exchanges.add(1, ordering: .relaxed)
        if proto == .udp, let multiplexer {
            // The socket sends the query under a random ID of its own and restores the client's in the reply.
            return multiplexer.exchange(query, deadline: deadline)
        }
        let sent = query.withID(random.withLock { UInt16.random(in: .min ... .max, using: &$0) })
        let reply: EventLoopFuture<DNSMessage>
        switch proto {
        case .udp:
            reply = udpPool.exchange(sent, deadline: deadline, on: loop) { [address, label, counters] in
                UDPUpstreamConnection.connect(to: address, label: label, on: loop, counters: counters)
            }
        case .tcp:
            reply = tcpPool.exchange(sent, deadline: deadline, on: loop) { [address, label, counters, connectTimeout] in
                StreamUpstreamConnection.connect(to: address, label: label, on: loop,
                                                 connectTimeout: connectTimeout, counters: counters)
            }
        }
        return reply.map { $0.withID(clientID) }
    }

    public var droppedReplies: Int { counters.mismatchedReplies.load(ordering: .relaxed) }

    public var idleConnections: Int { udpPool.count + tcpPool.count + counters.openSockets.load(ordering: .relaxed) }

    var idleUDPSockets: Int { udpPool.count }
    var idleTCPConnections: Int { tcpPool.count }

    public func close() {
        expiryTimer.cancel()
        udpPool.closeAll()
        tcpPool.closeAll()
        multiplexer?.close()
    }
}
