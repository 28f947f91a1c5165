import NIOCore
import Synchronization

/// Idle connections to one upstream, taken and returned under a lock (no managing task on the path).
/// FIFO: the connection idle longest is reused first, so source ports rotate (RFC 5452). Connections idle
/// longer than `expire` are closed; with `maxIdle` > 0, a connection returned to a full pool is closed.
final class ConnectionPool<Connection: PooledConnection>: Sendable {
    private struct Idle {
        let connection: Connection
        let since: NIODeadline
    }

    private let idle = Mutex<CircularBuffer<Idle>>(CircularBuffer(initialCapacity: 16))
    let expire: TimeAmount
    let maxIdle: Int

    init(expire: TimeAmount, maxIdle: Int) {
        self.expire = expire
        self.maxIdle = maxIdle
    }

    /// How often a transport sweeps its pools: idle connections are closed between `expire` and 1.5 x `expire`
    /// after their last use (never more often than every 100ms).
    static func sweepInterval(expire: TimeAmount) -> TimeAmount {
        max(.nanoseconds(expire.nanoseconds / 2), .milliseconds(100))
    }

    /// The oldest idle connection still fresh and open, closing the stale ones passed on the way.
    func take(now: NIODeadline = .now()) -> Connection? {
        var stale: [Connection] = []
        let found = idle.withLock { queue -> Connection? in
            while let first = queue.popFirst() {
                if now - first.since < expire && first.connection.isOpen { return first.connection }
                stale.append(first.connection)
            }
            return nil
        }
        stale.forEach { $0.close() }
        return found
    }

    /// Returns a connection after a successful exchange.
    func put(_ connection: Connection, now: NIODeadline = .now()) {
        let rejected = idle.withLock { queue -> Connection? in
            if maxIdle > 0 && queue.count >= maxIdle { return connection }
            queue.append(Idle(connection: connection, since: now))
            return nil
        }
        rejected?.close()
    }

    /// Closes the connections idle longer than `expire`; the transport calls it on a timer.
    func closeExpired(now: NIODeadline = .now()) {
        let expired = idle.withLock { queue -> [Connection] in
            var expired: [Connection] = []
            while let first = queue.first, now - first.since >= expire || !first.connection.isOpen {
                expired.append(first.connection)
                queue.removeFirst()
            }
            return expired
        }
        expired.forEach { $0.close() }
    }

    func closeAll() {
        let all = idle.withLock { queue -> [Connection] in
            defer { queue.removeAll() }
            return queue.map(\.connection)
        }
        all.forEach { $0.close() }
    }

    /// Idle connections now.
    var count: Int { idle.withLock { $0.count } }

    /// One exchange on a pooled connection, or a new one from `dial`. A pooled connection that turns out
    /// closed is replaced once by a fresh one, as CoreDNS does; a connection that failed is never pooled again.
    func exchange(_ query: DNSMessage, deadline: NIODeadline, on loop: any EventLoop, counters: TransportCounters,
                  dial: @escaping @Sendable () -> EventLoopFuture<Connection>) -> EventLoopFuture<DNSMessage> {
        let pooled = take()
        if pooled == nil {
            counters.streamConnectionMisses.add(1, ordering: .relaxed)
        } else {
            counters.streamConnectionHits.add(1, ordering: .relaxed)
        }
        if let pooled {
            return exchange(query, on: pooled, deadline: deadline).flatMapError { error in
                guard let error = error as? ExchangeError, error.isStaleConnection, NIODeadline.now() < deadline
                else { return loop.makeFailedFuture(error) }
                return dial().flatMap { self.exchange(query, on: $0, deadline: deadline) }
            }
        }
        return dial().flatMap { self.exchange(query, on: $0, deadline: deadline) }
    }

    /// The connection goes back to the pool (or is closed) before the caller's callbacks run: the bookkeeping is
    /// registered first on the connection's own future, with no second future per exchange.
    private func exchange(_ query: DNSMessage, on connection: Connection, deadline: NIODeadline)
        -> EventLoopFuture<DNSMessage> {
        let reply = connection.exchange(query, deadline: deadline)
        reply.whenComplete { result in
            switch result {
            case .success: self.put(connection)
            case .failure: connection.close()
            }
        }
        return reply
    }
}
