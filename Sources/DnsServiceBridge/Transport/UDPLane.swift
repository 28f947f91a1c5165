import NIOCore

/// One worker thread's sockets to one plain DNS upstream, the only UDP exchange there is: `socketsPerUpstream`
/// connected sockets, each taking new queries for `expire` (so source ports rotate) and then draining; each batch of
/// queries leaves on one of them drawn at random, each query under an ID no other query in flight on its socket has,
/// and only a datagram from the upstream (the kernel drops others on a connected socket) with that ID and the same
/// question completes it. Used on its worker thread only.
final class UDPLane {
    /// The upstream, with what the lane's sockets to it need.
    struct Target: Sendable {
        /// The transport the lane serves, to find its lane on a worker.
        let key: ObjectIdentifier
        let label: String
        let address: SocketAddress
        let counters: TransportCounters
        let expire: TimeAmount
    }

    /// Who waits for a reply: a walk a worker drives, or an exchange an event loop asked for (a walk driven there,
    /// a health check).
    enum Waiter {
        case walk(ListenerEngine.Forwarded, replyTo: RelayClient)
        case promise(EventLoopPromise<DNSMessage>)
    }

    /// A query waiting for its upstream's reply.
    struct Pending {
        let query: DNSMessage
        let waiter: Waiter
        /// When this exchange gives up.
        let deadline: NIODeadline

        /// Whether the client this exchange is for gave up on it (a cancelled gRPC call): no one waits for the reply.
        var clientGaveUp: Bool {
            if case .walk(_, let client) = waiter { client.gaveUp } else { false }
        }
    }

    /// What a datagram read on one of the lane's sockets turned out to be.
    enum Arrival {
        /// The reply to a waiting query (taken off the socket), with the query's own ID.
        case reply(Pending, DNSMessage)
        /// Nothing waits under its ID (most likely late, after its deadline), or it is not DNS, or a spoofer guessed
        /// the ID but not the question: dropped and counted; the query keeps waiting for the real reply.
        case dropped
    }

    /// What a worker reads a datagram into: any UDP payload whole (65,507 bytes over IPv4, 65,527 over IPv6), so
    /// a client's query of any size is forwarded as it came. Only the pages a datagram fills are ever touched.
    static let largestDatagram = 65_536
    /// The largest reply taken over UDP from an upstream: 4 KiB, about the largest EDNS0 size in common use; a
    /// larger one is treated as truncated (and asked again over TCP where the client needs it). A query's slot when
    /// batched; a larger query is sent on its own.
    static let largestReply = 4095

    /// One connected socket and the queries waiting on it.
    final class Socket {
        let socket: DatagramSocket
        var pending = QueryIDTable<Pending>()
        let openedAt: NIODeadline
        var idleSince: NIODeadline

        init(socket: DatagramSocket, now: NIODeadline) {
            self.socket = socket
            openedAt = now
            idleSince = now
        }
    }

    /// At most this many IDs of the 65,536 are in flight on one socket, so a free one is found in a few draws.
    static let maxInFlight = 16_384
    /// Sockets each relay thread keeps open to each upstream (RFC 5452 4.5: the source port is a second random
    /// number a spoofer must guess besides the ID); each takes new queries for `expire`, then drains and closes.
    static let socketsPerUpstream = 16

    let target: Target
    /// The sockets taking new queries, one per slot (nil: opened when a batch draws that slot).
    private(set) var slots: [Socket?]
    /// Sockets past `expire` (or failed) waiting for their last replies.
    private(set) var draining: [Socket] = []
    /// The socket the queries queued in `outgoing` go out on: drawn at random for each batch, so a batch is one
    /// `sendmmsg` on one socket and consecutive batches leave from unpredictable ports.
    private var batchSocket: Socket?
    private let outgoing: DatagramBatch
    private var random = ChaChaRandom()

    init?(target: Target, batchSize: Int, sockets: Int = UDPLane.socketsPerUpstream) {
        guard let outgoing = DatagramBatch(capacity: batchSize, slotSize: Self.largestReply) else {
            return nil
        }
        self.target = target
        self.outgoing = outgoing
        slots = Array(repeating: nil, count: max(1, sockets))
    }

    var sockets: [Socket] { slots.compactMap { $0 } + draining }

    /// Queues the query to the upstream under a fresh ID; false when no socket can be had, every ID is taken, or
    /// the query is larger than a slot.
    func send(_ waiting: Pending, now: NIODeadline) -> Bool {
        if outgoing.isFull { flush() }
        guard let (socket, opened) = socketForBatch(now: now), let id = socket.pending.unusedID(using: &random) else {
            return false
        }
        var bytes = waiting.query.bytes
        bytes.setUInt16(id, at: 0)
        if !outgoing.append(bytes, to: nil) {
            // Larger than a slot: on its own, now (the batch goes first, the socket is the same).
            outgoing.flush(on: socket.socket)
            guard socket.socket.send(bytes) else { return false }
        }
        target.counters.exchanges.add(1, ordering: .relaxed)
        if opened {
            target.counters.udpConnectionMisses.add(1, ordering: .relaxed)
        } else {
            target.counters.udpConnectionHits.add(1, ordering: .relaxed)
        }
        socket.pending.insert(waiting, under: id)
        return true
    }

    /// Sends what `send` queued.
    func flush() {
        guard let socket = batchSocket else { return }
        outgoing.flush(on: socket.socket)
        batchSocket = nil
    }

    /// Matches a datagram read on `socket` with the query waiting under its ID (RFC 5452: ID and question).
    func arrival(_ bytes: [UInt8], cut: Bool, on socket: Socket, now: NIODeadline) -> Arrival {
        let counters = target.counters
        guard bytes.count >= DNSHeader.size else {
            counters.mismatchedReplies.add(1, ordering: .relaxed)
            return .dropped
        }
        let id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        guard let waiting = socket.pending[id] else {
            counters.unexpectedReplies.add(1, ordering: .relaxed)
            return .dropped
        }
        let reply: DNSMessage
        if cut || bytes.count > Self.largestReply {
            // More than we take over UDP: answered as a server that could not fit it would.
            reply = waiting.query.truncatedEmptyReply()
        } else {
            var restored = bytes
            restored.setUInt16(waiting.query.header.id, at: 0)
            guard let parsed = try? DNSMessage(bytes: restored), parsed.isAnswer(to: waiting.query) else {
                counters.mismatchedReplies.add(1, ordering: .relaxed)
                return .dropped
            }
            reply = parsed
        }
        _ = take(id, on: socket, now: now)
        return .reply(waiting, reply)
    }

    /// The waiting query a reply with this ID belongs to, taken off the socket; nil when none waits.
    func take(_ id: UInt16, on socket: Socket, now: NIODeadline) -> Pending? {
        guard let waiting = socket.pending.remove(id) else { return nil }
        if socket.pending.isEmpty { socket.idleSince = now }
        return waiting
    }

    /// Every query waiting on `socket`, taken off it because the socket failed; it takes no new queries and
    /// closes at the next sweep (so an error the kernel keeps reporting cannot keep the relay's wait awake).
    func takeAll(on socket: Socket, now: NIODeadline) -> [Pending] {
        let all = socket.pending.removeAll()
        socket.idleSince = now
        retire(socket)
        return all
    }

    /// The queries whose exchange deadline passed or whose client gave up, taken off their sockets; closes drained
    /// and idle sockets.
    func sweep(now: NIODeadline) -> [Pending] {
        var expired: [Pending] = []
        for socket in sockets {
            let late = socket.pending.removeAll { $0.deadline <= now || $0.clientGaveUp }
            expired += late
            if !late.isEmpty && socket.pending.isEmpty { socket.idleSince = now }
        }
        draining.removeAll { socket in
            guard socket.pending.isEmpty, socket !== batchSocket else { return false }
            close(socket)
            return true
        }
        for index in slots.indices {
            guard let socket = slots[index], socket !== batchSocket, socket.pending.isEmpty,
                  now - socket.idleSince >= target.expire else { continue }
            close(socket)
            slots[index] = nil
        }
        return expired
    }

    /// Closes every socket; returns the queries still waiting.
    func closeAll() -> [Pending] {
        let waiting = sockets.flatMap(\.pending.all)
        sockets.forEach(close)
        slots = slots.map { _ in nil }
        draining = []
        batchSocket = nil
        return waiting
    }

    /// This batch's socket, or a slot drawn at random for a new batch (opening, or replacing one past `expire`);
    /// `opened` when it had to be opened for this query (a connection-cache miss, in CoreDNS's words).
    private func socketForBatch(now: NIODeadline) -> (Socket, opened: Bool)? {
        if let batchSocket, batchSocket.pending.count < Self.maxInFlight { return (batchSocket, false) }
        flush()
        let index = Int.random(in: slots.indices, using: &random)
        if let socket = slots[index] {
            if now - socket.openedAt < target.expire && socket.pending.count < Self.maxInFlight {
                batchSocket = socket
                return (socket, false)
            }
            retire(socket)
        }
        guard let opened = try? DatagramSocket.connect(to: target.address) else { return nil }
        target.counters.openSockets.add(1, ordering: .relaxed)
        let socket = Socket(socket: opened, now: now)
        slots[index] = socket
        batchSocket = socket
        return (socket, true)
    }

    /// Takes `socket` out of its slot: it takes no new queries and closes once drained.
    private func retire(_ socket: Socket) {
        if socket === batchSocket { flush() }
        guard let index = slots.firstIndex(where: { $0 === socket }) else { return }
        slots[index] = nil
        draining.append(socket)
    }

    private func close(_ socket: Socket) {
        guard socket.socket.isOpen else { return }
        socket.socket.close()
        target.counters.openSockets.subtract(1, ordering: .relaxed)
    }
}
