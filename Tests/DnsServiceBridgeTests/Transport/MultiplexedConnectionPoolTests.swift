import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import DnsServiceBridge

/// The pool of pipelining connections against a real loopback TCP upstream: how many connections it opens, the
/// in-flight cap, and what closing does to pending exchanges.
@Suite struct MultiplexedConnectionPoolTests {
    /// A DNS-over-TCP upstream on 127.0.0.1 that answers each query by echoing it with QR set, or stays silent.
    private final class LoopbackUpstream: Sendable {
        struct NoAddress: Error {}

        let group: MultiThreadedEventLoopGroup
        let address: SocketAddress
        private let server: any Channel
        private let accepted: Counter

        init(answers: Bool) async throws {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let accepted = Counter()
            self.group = group
            self.accepted = accepted
            server = try await ServerBootstrap(group: group)
                .childChannelInitializer { channel in
                    accepted.increment()
                    return channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(DNSFrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(EchoAnswerHandler(answers: answers))
                    }
                }
                .bind(host: "127.0.0.1", port: 0)
                .get()
            guard let address = server.localAddress else { throw NoAddress() }
            self.address = address
        }

        /// Connections accepted so far.
        var connections: Int { accepted.value }

        /// Closes the listening socket and, with the event loop, every accepted connection.
        func stop() async throws {
            try await server.close()
            try await group.shutdownGracefully()
        }
    }

    private final class EchoAnswerHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answers: Bool

        init(answers: Bool) { self.answers = answers }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard answers else { return }
            var bytes = Array(unwrapInboundIn(data).readableBytesView)
            bytes[2] |= 0x80
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.framedDNSMessage(bytes)), promise: nil)
        }
    }

    private final class Counter: Sendable {
        private let count = Atomic<Int>(0)
        func increment() { count.add(1, ordering: .relaxed) }
        var value: Int { count.load(ordering: .relaxed) }
    }

    private func query(_ index: Int) throws -> DNSMessage {
        DNSMessage.query(name: try DNSName("q\(index).example.org."), type: .a, id: 1)
    }

    private func makePool(maxInFlight: Int, maxConnections: Int) -> MultiplexedConnectionPool {
        MultiplexedConnectionPool(label: "test", expire: .seconds(10), maxIdle: 0,
                                  maxInFlightPerConnection: maxInFlight, maxConnections: maxConnections)
    }

    private func dialler(to upstream: LoopbackUpstream, on loop: any EventLoop, maxInFlight: Int, dials: Counter)
        -> @Sendable () -> EventLoopFuture<MultiplexedStreamConnection> {
        let address = upstream.address
        return {
            dials.increment()
            return MultiplexedStreamConnection.connect(to: address, label: "test", on: loop,
                                                       connectTimeout: .seconds(30), counters: TransportCounters(),
                                                       maxInFlight: maxInFlight)
        }
    }

    @Test func concurrentQueriesShareOneConnection() async throws {
        let upstream = try await LoopbackUpstream(answers: true)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let pool = makePool(maxInFlight: 64, maxConnections: 8)
        let dials = Counter()
        let dial = dialler(to: upstream, on: group.any(), maxInFlight: 64, dials: dials)

        let queries = try (0..<50).map(query)
        let futures = queries.map { pool.exchange($0, deadline: .now() + .seconds(30), on: group.any(), counters: TransportCounters(),
                                            dial: dial) }
        let replies = try await EventLoopFuture.whenAllSucceed(futures, on: group.any()).get()

        for (query, reply) in zip(queries, replies) {
            #expect(reply.question == query.question)
        }
        #expect(dials.value == 1)
        #expect(upstream.connections == 1)
        #expect(pool.count == 1)
        #expect(pool.inFlight == 0)
        pool.closeAll()
        try await upstream.stop()
        try await group.shutdownGracefully()
    }

    @Test func fullConnectionsOpenMoreUpToTheLimitThenRefuse() async throws {
        let upstream = try await LoopbackUpstream(answers: false)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = makePool(maxInFlight: 4, maxConnections: 2)
        let dials = Counter()
        let dial = dialler(to: upstream, on: group.any(), maxInFlight: 4, dials: dials)

        let pending = try (0..<8).map { pool.exchange(try query($0), deadline: .now() + .seconds(30), on: group.any(), counters: TransportCounters(),
                                                      dial: dial) }
        let refused = pool.exchange(try query(8), deadline: .now() + .seconds(30), on: group.any(), counters: TransportCounters(), dial: dial)
        await #expect(throws: ExchangeError.tooManyInFlight(upstream: "test", limit: 4)) { try await refused.get() }
        #expect(dials.value == 2)
        #expect(pool.inFlight == 8)

        // Closing fails everything pending at once instead of leaving it to the deadline.
        pool.closeAll()
        for future in pending {
            await #expect(throws: ExchangeError.self) { try await future.get() }
        }
        await #expect(throws: ExchangeError.shutDown) {
            try await pool.exchange(try query(9), deadline: .now() + .seconds(1), on: group.any(), counters: TransportCounters(), dial: dial).get()
        }
        try await upstream.stop()
        try await group.shutdownGracefully()
    }

    @Test func anUpstreamThatClosesFailsEveryExchangePendingOnIt() async throws {
        let upstream = try await LoopbackUpstream(answers: false)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = makePool(maxInFlight: 16, maxConnections: 1)
        let dial = dialler(to: upstream, on: group.any(), maxInFlight: 16, dials: Counter())

        let pending = try (0..<5).map { pool.exchange(try query($0), deadline: .now() + .seconds(30), on: group.any(), counters: TransportCounters(),
                                                      dial: dial) }
        // Wait (bounded) until the upstream has the connection, then take the upstream away.
        let connected = ContinuousClock.now + .seconds(30)
        while upstream.connections == 0, ContinuousClock.now < connected { try await Task.sleep(for: .milliseconds(10)) }
        try #require(upstream.connections > 0)
        try await upstream.stop()
        let started = ContinuousClock.now
        for future in pending {
            await #expect(throws: ExchangeError.self) { try await future.get() }
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(pool.count == 0 || pool.inFlight == 0)
        pool.closeAll()
        try await group.shutdownGracefully()
    }
}
