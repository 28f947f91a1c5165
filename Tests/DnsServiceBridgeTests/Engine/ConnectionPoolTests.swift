import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import DnsServiceBridge

/// A connection for the pool's own tests: no socket, it answers each query with SERVFAIL (or fails when told).
private final class FakeConnection: PooledConnection {
    let id: Int
    private let loop: any EventLoop
    private let state = Mutex((open: true, closes: 0, exchanges: 0, failNext: false))

    init(id: Int, loop: any EventLoop) {
        self.id = id
        self.loop = loop
    }

    var isOpen: Bool { state.withLock { $0.open } }
    var closes: Int { state.withLock { $0.closes } }
    var exchanges: Int { state.withLock { $0.exchanges } }

    func failNextExchange() { state.withLock { $0.failNext = true } }

    func exchange(_ query: DNSMessage, deadline: NIODeadline) -> EventLoopFuture<DNSMessage> {
        let fail = state.withLock { state in
            state.exchanges += 1
            defer { state.failNext = false }
            return state.failNext
        }
        if fail { return loop.makeFailedFuture(ExchangeError.timeout(upstream: "fake")) }
        return loop.makeSucceededFuture(query.errorReply(.servFail))
    }

    func close() {
        state.withLock { state in
            state.open = false
            state.closes += 1
        }
    }
}

private let loop = MultiThreadedEventLoopGroup.singleton.any()
private let start = NIODeadline.uptimeNanoseconds(5_000_000_000)

private func connections(_ count: Int) -> [FakeConnection] {
    (0..<count).map { FakeConnection(id: $0, loop: loop) }
}

@Test func poolIsFIFO() {
    let pool = ConnectionPool<FakeConnection>(expire: .seconds(10), maxIdle: 0)
    let conns = connections(3)
    for (offset, conn) in conns.enumerated() { pool.put(conn, now: start + .milliseconds(Int64(offset))) }
    let now = start + .seconds(1)
    #expect(pool.take(now: now)?.id == 0, "the connection idle longest goes first")
    pool.put(conns[0], now: now)
    #expect(pool.take(now: now)?.id == 1)
    #expect(pool.take(now: now)?.id == 2)
    #expect(pool.take(now: now)?.id == 0, "a returned connection queues behind the others")
    #expect(pool.take(now: now) == nil)
}

@Test func poolExpiresIdleConnectionsOnTake() {
    let pool = ConnectionPool<FakeConnection>(expire: .seconds(10), maxIdle: 0)
    let conns = connections(2)
    pool.put(conns[0], now: start)
    pool.put(conns[1], now: start + .seconds(5))
    #expect(pool.take(now: start + .seconds(10))?.id == 1, "the expired one is skipped")
    #expect(conns[0].closes == 1, "and closed")
    #expect(conns[1].closes == 0)
    #expect(pool.count == 0)
}

@Test func poolSkipsClosedConnections() {
    let pool = ConnectionPool<FakeConnection>(expire: .seconds(10), maxIdle: 0)
    let conns = connections(2)
    pool.put(conns[0], now: start)
    pool.put(conns[1], now: start)
    conns[0].close()
    #expect(pool.take(now: start)?.id == 1)
}

@Test func poolCapsIdleConnections() {
    let pool = ConnectionPool<FakeConnection>(expire: .seconds(10), maxIdle: 2)
    let conns = connections(3)
    for conn in conns { pool.put(conn, now: start) }
    #expect(pool.count == 2)
    #expect(conns[2].closes == 1, "the connection returned to a full pool is closed")
    #expect(conns[0].closes == 0 && conns[1].closes == 0)
}

@Test func poolWithoutCapKeepsEverything() {
    let pool = ConnectionPool<FakeConnection>(expire: .seconds(10), maxIdle: 0)
    for conn in connections(100) { pool.put(conn, now: start) }
    #expect(pool.count == 100)
}

@Test func closeExpiredClosesOnlyTheStale() {
    let pool = ConnectionPool<FakeConnection>(expire: .seconds(10), maxIdle: 0)
    let conns = connections(3)
    pool.put(conns[0], now: start)
    pool.put(conns[1], now: start + .seconds(4))
    pool.put(conns[2], now: start + .seconds(8))
    pool.closeExpired(now: start + .seconds(14))
    #expect(conns.map(\.closes) == [1, 1, 0])
    #expect(pool.count == 1)
    pool.closeAll()
    #expect(conns[2].closes == 1)
    #expect(pool.count == 0)
}

@Test func sweepIntervalIsHalfExpireAndBounded() {
    #expect(ConnectionPool<FakeConnection>.sweepInterval(expire: .seconds(10)) == .seconds(5))
    #expect(ConnectionPool<FakeConnection>.sweepInterval(expire: .milliseconds(10)) == .milliseconds(100))
}

@Test func exchangesReuseOnePooledConnection() async throws {
    let pool = ConnectionPool<FakeConnection>(expire: .seconds(10), maxIdle: 0)
    let dialed = Mutex<[FakeConnection]>([])
    let dial: @Sendable () -> EventLoopFuture<FakeConnection> = {
        let conn = dialed.withLock { list in
            let conn = FakeConnection(id: list.count, loop: loop)
            list.append(conn)
            return conn
        }
        return loop.makeSucceededFuture(conn)
    }
    let query = DNSMessage.query(name: try DNSName("example.org."), type: .a, id: 7)
    let counters = TransportCounters()
    for _ in 0..<5 {
        let reply = try await pool.exchange(query, deadline: .now() + .seconds(1), on: loop, counters: counters, dial: dial).get()
        #expect(reply.rcode == .servFail)
    }
    #expect(dialed.withLock { $0.count } == 1, "sequential exchanges share one connection")
    #expect(dialed.withLock { $0[0].exchanges } == 5)
    // CoreDNS's connection cache: the first exchange dialled, the other four found the connection.
    #expect(counters.streamConnectionMisses.load(ordering: .relaxed) == 1)
    #expect(counters.streamConnectionHits.load(ordering: .relaxed) == 4)

    dialed.withLock { $0[0] }.failNextExchange()
    await #expect(throws: ExchangeError.self) {
        try await pool.exchange(query, deadline: .now() + .seconds(1), on: loop, counters: counters, dial: dial).get()
    }
    #expect(dialed.withLock { $0[0].closes } == 1, "a connection that failed is closed, never pooled again")
    #expect(pool.count == 0)
    _ = try await pool.exchange(query, deadline: .now() + .seconds(1), on: loop, counters: counters, dial: dial).get()
    #expect(dialed.withLock { $0.count } == 2)
}
