import NIOCore
import Synchronization

/// The connections to one upstream when each carries several exchanges at once (DoT). A query goes on the
/// oldest open connection with room (fewest connections, each kept busy); a new connection is dialled only when
/// every one is full, up to `maxConnections`, and queries arriving while it is being set up share it instead of
/// dialling more. A connection with nothing in flight for `expire` is closed, as are idle ones above `maxIdle`.
final class MultiplexedConnectionPool: Sendable {
    private struct Entry {
        let id: Int
        /// Completes once connected (TLS handshake not necessarily done: writes wait for it in the TLS handler).
        let connection: EventLoopFuture<MultiplexedStreamConnection>
        /// Set once `connection` succeeded.
        var ready: MultiplexedStreamConnection?
        var inFlight: Int
        var idleSince: NIODeadline

        /// Still worth putting a query on: connecting, or connected and open.
        var usable: Bool { ready?.isOpen ?? true }
    }

    private struct State {
        var entries: [Entry] = []
        var nextID = 0
        var closed = false
    }

    private enum Reservation {
        /// Put the query on this connection; `reused` when it was connected before this query came.
        case existing(id: Int, connection: EventLoopFuture<MultiplexedStreamConnection>, reused: Bool)
        /// Dial a new connection and complete `promise` with it.
        case dial(id: Int, promise: EventLoopPromise<MultiplexedStreamConnection>)
        case full
        case closed
    }

    private let state = Mutex(State())
    private let label: String
    let expire: TimeAmount
    let maxIdle: Int
    let maxInFlightPerConnection: Int
    let maxConnections: Int

    init(label: String, expire: TimeAmount, maxIdle: Int, maxInFlightPerConnection: Int, maxConnections: Int) {
        self.label = label
        self.expire = expire
        self.maxIdle = maxIdle
        self.maxInFlightPerConnection = max(1, maxInFlightPerConnection)
        self.maxConnections = max(1, maxConnections)
    }

    /// One exchange on a connection with room, or on a new one from `dial`. An exchange that finds a connection
    /// reused from before closed under it is tried once more on a fresh one, as CoreDNS does with its pool.
    func exchange(_ query: DNSMessage, deadline: NIODeadline, on loop: any EventLoop, counters: TransportCounters,
                  dial: @escaping @Sendable () -> EventLoopFuture<MultiplexedStreamConnection>)
        -> EventLoopFuture<DNSMessage> {
        exchange(query, deadline: deadline, on: loop, dial: dial, mayRetry: true, counters: counters)
    }

    private func exchange(_ query: DNSMessage, deadline: NIODeadline, on loop: any EventLoop,
                          dial: @escaping @Sendable () -> EventLoopFuture<MultiplexedStreamConnection>,
                          mayRetry: Bool, counters: TransportCounters) -> EventLoopFuture<DNSMessage> {
        let (reservation, stale) = reserve(on: loop)
        stale.forEach { $0.close() }
        switch reservation {
        case .closed:
            return loop.makeFailedFuture(ExchangeError.shutDown)
        case .full:
            return loop.makeFailedFuture(ExchangeError.tooManyInFlight(upstream: label,
                                                                      limit: maxInFlightPerConnection))
        case .existing(let id, let connection, let reused):
            counters.streamConnectionHits.add(1, ordering: .relaxed)
            return exchange(query, on: connection, id: id, reused: reused, deadline: deadline, loop: loop, dial: dial,
                            mayRetry: mayRetry, counters: counters)
        case .dial(let id, let promise):
            counters.streamConnectionMisses.add(1, ordering: .relaxed)
            let dialled = dial()
            dialled.whenComplete { result in self.dialled(id, result) }
            dialled.cascade(to: promise)
            return exchange(query, on: promise.futureResult, id: id, reused: false, deadline: deadline, loop: loop,
                            dial: dial, mayRetry: mayRetry, counters: counters)
        }
    }

    private func exchange(_ query: DNSMessage, on connection: EventLoopFuture<MultiplexedStreamConnection>, id: Int,
                          reused: Bool, deadline: NIODeadline, loop: any EventLoop,
                          dial: @escaping @Sendable () -> EventLoopFuture<MultiplexedStreamConnection>,
                          mayRetry: Bool, counters: TransportCounters) -> EventLoopFuture<DNSMessage> {
        connection.flatMap { $0.exchange(query, deadline: deadline) }
            .always { _ in self.release(id) }
            .flatMapError { error in
                guard mayRetry, reused, let exchangeError = error as? ExchangeError, exchangeError.isStaleConnection,
                      NIODeadline.now() < deadline else {
                    return loop.makeFailedFuture(error)
                }
                return self.exchange(query, deadline: deadline, on: loop, dial: dial, mayRetry: false,
                                     counters: counters)
            }
    }

    private func reserve(on loop: any EventLoop) -> (Reservation, stale: [MultiplexedStreamConnection]) {
        let now = NIODeadline.now()
        return state.withLock { state -> (Reservation, stale: [MultiplexedStreamConnection]) in
            guard !state.closed else { return (.closed, []) }
            let stale = Self.removeStale(from: &state, now: now, expire: expire)
            if let index = state.entries.firstIndex(where: { $0.usable && $0.inFlight < maxInFlightPerConnection }) {
                state.entries[index].inFlight += 1
                let entry = state.entries[index]
                return (.existing(id: entry.id, connection: entry.connection, reused: entry.ready != nil), stale)
            }
            guard state.entries.count < maxConnections else { return (.full, stale) }
            let promise = loop.makePromise(of: MultiplexedStreamConnection.self)
            let id = state.nextID
            state.nextID += 1
            state.entries.append(Entry(id: id, connection: promise.futureResult, ready: nil, inFlight: 1,
                                       idleSince: now))
            return (.dial(id: id, promise: promise), stale)
        }
    }

    /// Drops closed connections and ones idle for `expire`; returns those to close (outside the lock).
    private static func removeStale(from state: inout State, now: NIODeadline, expire: TimeAmount)
        -> [MultiplexedStreamConnection] {
        var stale: [MultiplexedStreamConnection] = []
        state.entries.removeAll { entry in
            guard entry.inFlight == 0, let ready = entry.ready else { return false }
            guard !ready.isOpen || now - entry.idleSince >= expire else { return false }
            stale.append(ready)
            return true
        }
        return stale
    }

    private func dialled(_ id: Int, _ result: Result<MultiplexedStreamConnection, any Error>) {
        switch result {
        case .success(let connection):
            let kept = state.withLock { state -> Bool in
                guard let index = state.entries.firstIndex(where: { $0.id == id }) else { return false }
                state.entries[index].ready = connection
                return true
            }
            guard kept else {
                // The pool was closed while this connection was being set up.
                connection.close()
                return
            }
            connection.closeFuture.whenComplete { _ in self.remove(id) }
        case .failure:
            // Everyone waiting on it fails with the dial error; the next query dials afresh.
            remove(id)
        }
    }

    private func release(_ id: Int) {
        let now = NIODeadline.now()
        let surplus = state.withLock { state -> MultiplexedStreamConnection? in
            guard let index = state.entries.firstIndex(where: { $0.id == id }) else { return nil }
            state.entries[index].inFlight -= 1
            guard state.entries[index].inFlight == 0 else { return nil }
            state.entries[index].idleSince = now
            guard maxIdle > 0, state.entries.count(where: { $0.inFlight == 0 && $0.ready != nil }) > maxIdle,
                  let ready = state.entries[index].ready else { return nil }
            state.entries.remove(at: index)
            return ready
        }
        surplus?.close()
    }

    private func remove(_ id: Int) {
        state.withLock { state in state.entries.removeAll { $0.id == id } }
    }

    /// Closes the connections idle longer than `expire`; the transport calls it on a timer.
    func closeExpired() {
        let now = NIODeadline.now()
        let stale = state.withLock { state -> [MultiplexedStreamConnection] in
            Self.removeStale(from: &state, now: now, expire: expire)
        }
        stale.forEach { $0.close() }
    }

    /// Closes every connection (exchanges in flight fail) and refuses new exchanges.
    func closeAll() {
        let entries = state.withLock { state -> [Entry] in
            state.closed = true
            defer { state.entries.removeAll() }
            return state.entries
        }
        for entry in entries {
            entry.connection.whenSuccess { $0.close() }
        }
    }

    /// Open (or opening) connections.
    var count: Int { state.withLock { $0.entries.count } }

    /// Exchanges in flight over all connections.
    var inFlight: Int { state.withLock { $0.entries.reduce(0) { $0 + $1.inFlight } } }
}
