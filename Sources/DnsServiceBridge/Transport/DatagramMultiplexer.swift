import NIOCore
import NIOPosix

/// UDP to one upstream the way dnsdist does it (`multiplex_udp`): every event loop sends its queries over its own
/// few long-lived sockets, many in flight on each, instead of taking one pooled socket per exchange (CoreDNS's
/// way, the default). Each loop has a `DatagramLane`; an exchange runs on the lane of the loop it is called on, so
/// a query read on a loop is forwarded and answered on that loop with no hop and no lock.
///
/// Source ports still change: a socket takes new queries for `expire` only, then drains and closes.
final class DatagramMultiplexer: Sendable {
    /// One lane per event loop of the group, fixed at start (the group's loops do not change).
    private let lanes: [ObjectIdentifier: NIOLoopBoundBox<DatagramLane>]
    private let group: any EventLoopGroup

    init(upstream: SocketAddress, label: String, group: any EventLoopGroup, expire: TimeAmount,
         counters: TransportCounters) {
        self.group = group
        var lanes: [ObjectIdentifier: NIOLoopBoundBox<DatagramLane>] = [:]
        for loop in group.makeIterator() {
            // Made here, off the loop, and from then on used on it only.
            lanes[ObjectIdentifier(loop)] = .makeBoxSendingValue(
                DatagramLane(upstream: upstream, label: label, loop: loop, expire: expire, counters: counters),
                eventLoop: loop)
        }
        self.lanes = lanes
    }

    /// One exchange on the calling loop's lane (or any loop's, hopping there, when called from elsewhere).
    func exchange(_ query: DNSMessage, deadline: NIODeadline) -> EventLoopFuture<DNSMessage> {
        let loop = group.any()
        guard let lane = lanes[ObjectIdentifier(loop)] else {
            return loop.makeFailedFuture(ExchangeError.shutDown)
        }
        if loop.inEventLoop { return lane.value.exchange(query, deadline: deadline) }
        return loop.flatSubmit { lane.value.exchange(query, deadline: deadline) }
    }

    /// Closes every socket (exchanges in flight fail) and refuses new exchanges.
    func close() {
        for lane in lanes.values {
            lane.eventLoop.execute { lane.value.close() }
        }
    }
}

/// One event loop's sockets to one upstream: the current one takes new queries until it is `expire` old or full,
/// then a fresh one is opened and the old one closes once its exchanges have finished. Used on its loop only.
final class DatagramLane {
    private struct Socket {
        let channel: any Channel
        let handler: MultiplexedDatagramHandler
    }

    private let upstream: SocketAddress
    private let label: String
    private let loop: any EventLoop
    private let expire: TimeAmount
    private let counters: TransportCounters
    /// The socket new queries go to, once open.
    private var current: Socket?
    /// The socket being opened; queries that arrive meanwhile wait on it.
    private var opening: EventLoopFuture<Socket>?
    /// Every socket still open (current and retired ones draining), by channel, to close them at shutdown.
    private var open: [ObjectIdentifier: any Channel] = [:]
    private var closed = false

    init(upstream: SocketAddress, label: String, loop: any EventLoop, expire: TimeAmount,
         counters: TransportCounters) {
        self.upstream = upstream
        self.label = label
        self.loop = loop
        self.expire = expire
        self.counters = counters
    }

    func exchange(_ query: DNSMessage, deadline: NIODeadline) -> EventLoopFuture<DNSMessage> {
        guard !closed else { return loop.makeFailedFuture(ExchangeError.shutDown) }
        if let current {
            if current.handler.takesQueries(now: .now()) {
                return current.handler.start(query, deadline: deadline, on: loop)
            }
            current.handler.retire()
            self.current = nil
        }
        let socket = opening ?? openSocket()
        return socket.flatMap { [loop] socket in socket.handler.start(query, deadline: deadline, on: loop) }
    }

    private func openSocket() -> EventLoopFuture<Socket> {
        let (upstream, label, counters, expire) = (self.upstream, self.label, self.counters, self.expire)
        let opened = DatagramBootstrap(group: loop)
            // Replies read as on a pooled socket (UDPExchangeHandler), up to 32 per `recvmmsg`.
            .channelOption(.datagramVectorReadMessageCount, value: Self.repliesPerRead)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(
                capacity: Self.repliesPerRead * UDPExchangeHandler.receiveBufferSize))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = MultiplexedDatagramHandler(upstream: upstream, label: label, counters: counters,
                                                             expire: expire)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(to: upstream)
            .flatMapThrowing { channel in
                Socket(channel: channel,
                       handler: try channel.pipeline.syncOperations.handler(type: MultiplexedDatagramHandler.self))
            }
            .flatMapErrorThrowing { error in
                throw ExchangeError.connectionFailed(upstream: label, reason: "\(error)")
            }
        opening = opened
        opened.assumeIsolated().whenComplete { [self] result in
            opening = nil
            guard case .success(let socket) = result else { return }
            guard !closed else {
                socket.channel.close(promise: nil)
                return
            }
            current = socket
            let key = ObjectIdentifier(socket.channel)
            open[key] = socket.channel
            counters.openSockets.add(1, ordering: .relaxed)
            socket.channel.closeFuture.assumeIsolated().whenComplete { [self] _ in
                open[key] = nil
                counters.openSockets.subtract(1, ordering: .relaxed)
            }
        }
        return opened
    }

    static let repliesPerRead = 32

    func close() {
        closed = true
        current = nil
        open.values.forEach { $0.close(promise: nil) }
    }
}
