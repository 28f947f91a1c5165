import NIOCore

/// One relay thread's sockets to one upstream, as `DatagramLane` for the NIO path: the current socket takes new
/// queries for `expire` (so source ports rotate), then drains and closes; each query leaves under an ID no other
/// query in flight on its socket has, and only a datagram with that ID and the same question completes it.
/// Used on its relay thread only.
final class RelayLane {
    /// A query waiting for its upstream's reply.
    struct Pending {
        /// The query, with its walk's exchange with this lane's upstream in flight.
        let forwarded: ListenerEngine.Forwarded
        /// Where the reply goes.
        let client: RelayClient
        /// When this exchange gives up.
        let deadline: NIODeadline

        var query: DNSMessage { forwarded.query }
    }

    /// One connected socket and the queries waiting on it.
    final class Socket {
        let socket: DatagramSocket
        var pending: [UInt16: Pending] = [:]
        let openedAt: NIODeadline
        var idleSince: NIODeadline

        init(socket: DatagramSocket, now: NIODeadline) {
            self.socket = socket
            openedAt = now
            idleSince = now
        }
    }

    /// At most this many IDs of the 65,536 are in flight on one socket (as `MultiplexedDatagramHandler`).
    static let maxInFlight = 16_384

    let target: UDPRelayPlan.Target
    private(set) var current: Socket?
    private(set) var draining: [Socket] = []
    private let outgoing: DatagramBatch
    private var random = ChaChaRandom()

    init?(target: UDPRelayPlan.Target, batchSize: Int) {
        guard let outgoing = DatagramBatch(capacity: batchSize, slotSize: UDPExchangeHandler.largestReply) else {
            return nil
        }
        self.target = target
        self.outgoing = outgoing
    }

    var upstream: Upstream { target.upstream }
    var sockets: [Socket] { (current.map { [$0] } ?? []) + draining }

    /// Queues the walk's query to the upstream under a fresh ID; false when no socket can be had or every ID is
    /// taken.
    func send(_ waiting: Pending, now: NIODeadline) -> Bool {
        guard let socket = socketForQuery(now: now), let id = unusedID(on: socket) else { return false }
        var bytes = waiting.query.bytes
        bytes.setUInt16(id, at: 0)
        if outgoing.isFull { outgoing.flush(on: socket.socket) }
        guard outgoing.append(bytes, to: nil) else { return false }
        target.counters.exchanges.add(1, ordering: .relaxed)
        socket.pending[id] = waiting
        return true
    }

    /// Sends what `send` queued.
    func flush() {
        guard let current else { return }
        outgoing.flush(on: current.socket)
    }

    /// The waiting query a reply with this ID belongs to, taken off the socket; nil when none waits.
    func take(_ id: UInt16, on socket: Socket, now: NIODeadline) -> Pending? {
        guard let waiting = socket.pending.removeValue(forKey: id) else { return nil }
        if socket.pending.isEmpty { socket.idleSince = now }
        return waiting
    }

    /// Every query waiting on `socket`, taken off it because the socket failed; it takes no new queries and
    /// closes at the next sweep (so an error the kernel keeps reporting cannot keep the relay's wait awake).
    func takeAll(on socket: Socket, now: NIODeadline) -> [Pending] {
        let all = Array(socket.pending.values)
        socket.pending.removeAll()
        socket.idleSince = now
        if current === socket {
            outgoing.flush(on: socket.socket)
            draining.append(socket)
            current = nil
        }
        return all
    }

    /// The queries whose exchange deadline passed, taken off their sockets; closes drained and idle sockets.
    func sweep(now: NIODeadline) -> [Pending] {
        var expired: [Pending] = []
        for socket in sockets {
            let late = socket.pending.filter { $0.value.deadline <= now }
            for (id, waiting) in late {
                socket.pending[id] = nil
                expired.append(waiting)
            }
            if !late.isEmpty && socket.pending.isEmpty { socket.idleSince = now }
        }
        draining.removeAll { socket in
            guard socket.pending.isEmpty else { return false }
            close(socket)
            return true
        }
        if let current, current.pending.isEmpty, now - current.idleSince >= target.expire {
            close(current)
            self.current = nil
        }
        return expired
    }

    /// Closes every socket; returns the queries still waiting.
    func closeAll() -> [Pending] {
        let waiting = sockets.flatMap { Array($0.pending.values) }
        sockets.forEach(close)
        current = nil
        draining = []
        return waiting
    }

    private func socketForQuery(now: NIODeadline) -> Socket? {
        if let current {
            if now - current.openedAt < target.expire && current.pending.count < Self.maxInFlight {
                return current
            }
            outgoing.flush(on: current.socket)
            draining.append(current)
            self.current = nil
        }
        guard let opened = try? DatagramSocket.connect(to: target.address) else { return nil }
        target.counters.openSockets.add(1, ordering: .relaxed)
        let socket = Socket(socket: opened, now: now)
        current = socket
        return socket
    }

    private func close(_ socket: Socket) {
        guard socket.socket.isOpen else { return }
        socket.socket.close()
        target.counters.openSockets.subtract(1, ordering: .relaxed)
    }

    /// A random ID not in flight on `socket`: at most a quarter are taken, so 32 draws all fail with probability
    /// 2^-64.
    private func unusedID(on socket: Socket) -> UInt16? {
        for _ in 0..<32 {
            let id = UInt16.random(in: .min ... .max, using: &random)
            if socket.pending[id] == nil { return id }
        }
        return nil
    }
}
