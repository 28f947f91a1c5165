import NIOCore
import NIOPosix
import Synchronization

/// Plain DNS to one upstream: UDP on the workers' lanes (`UDPLane`, the only UDP exchange: a worker's own walks use
/// its lanes directly, an event loop's exchanges go to the instance's exchange workers), TCP over a pool of
/// connections. Every exchange leaves with a fresh random ID (restored in the reply), so IDs are unpredictable.
public final class DNSUpstreamTransport: UpstreamExchanger {
    public let label: String
    /// Where the upstream listens.
    let address: SocketAddress
    /// How long a UDP socket takes new queries and an idle TCP connection is kept (`expire`).
    let expire: TimeAmount
    private let group: any EventLoopGroup
    private let tcpPool: ConnectionPool<StreamUpstreamConnection>
    private let exchangeWorkers: ExchangeWorkers
    private let connectTimeout: TimeAmount
    let counters = TransportCounters()
    private let expiryTimer: RepeatedTask

    init(label: String, address: SocketAddress, group: any EventLoopGroup, exchangeWorkers: ExchangeWorkers,
         expire: TimeAmount = .seconds(10), maxIdleConnections: Int = 0, connectTimeout: TimeAmount = .seconds(2)) {
        self.label = label
        self.address = address
        self.expire = expire
        self.group = group
        self.exchangeWorkers = exchangeWorkers
        self.connectTimeout = connectTimeout
        let tcpPool = ConnectionPool<StreamUpstreamConnection>(expire: expire, maxIdle: maxIdleConnections)
        self.tcpPool = tcpPool
        let sweep = ConnectionPool<StreamUpstreamConnection>.sweepInterval(expire: expire)
        expiryTimer = group.any().scheduleRepeatedTask(initialDelay: sweep, delay: sweep) { _ in
            tcpPool.closeExpired()
        }
    }

    /// What a worker's lane to this upstream needs.
    var laneTarget: UDPLane.Target {
        UDPLane.Target(key: ObjectIdentifier(self), label: label, address: address, counters: counters, expire: expire)
    }

    public func exchange(_ query: DNSMessage, over proto: ExchangeProtocol, deadline: NIODeadline)
        -> EventLoopFuture<DNSMessage> {
        let loop = group.any()
        switch proto {
        case .udp:
            // The lane sends the query under a random ID of its own and restores the client's in the reply.
            return exchangeWorkers.exchange(query, to: laneTarget, deadline: deadline, on: loop)
        case .tcp:
            counters.exchanges.add(1, ordering: .relaxed)
            let clientID = query.header.id
            let sent = query.withID(ThreadRandom.with { UInt16.random(in: .min ... .max, using: &$0) })
            return tcpPool.exchange(sent, deadline: deadline, on: loop, counters: counters) { [address, label, counters, connectTimeout] in
                StreamUpstreamConnection.connect(to: address, label: label, on: loop,
                                                 connectTimeout: connectTimeout, counters: counters)
            }.map { $0.withID(clientID) }
        }
    }

    public var droppedReplies: Int { counters.mismatchedReplies.load(ordering: .relaxed) }

    /// Idle TCP connections and open UDP sockets (every worker's lanes), for metrics.
    public var idleConnections: Int { tcpPool.count + counters.openSockets.load(ordering: .relaxed) }

    /// Closes the TCP connections; the UDP sockets are the workers', closed when they stop.
    public func close() {
        expiryTimer.cancel()
        tcpPool.closeAll()
    }
}
