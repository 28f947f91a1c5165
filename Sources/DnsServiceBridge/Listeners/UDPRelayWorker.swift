import NIOCore

/// The datagram relay's work on one thread: takes queries (a batch read from its listening socket on a relay thread
/// of its own, or the calls of a gRPC listener on that server's completion-queue thread), has the listener's engine
/// decide each (answered at once, or a walk to forward), sends plain DNS exchanges over the thread's own connected
/// sockets, matches the replies, drives the walk on, and answers (a batch of datagrams written at once, or the gRPC
/// call's responder), as dnsdist's UDP path does, with no future, channel pipeline or allocation per packet beyond
/// the message itself. A walk step it has no socket for (a TCP retry, a DoT or gRPC upstream) goes on on an event
/// loop with the same walk. Used on one thread only.
final class UDPRelayWorker {
    private static let batchSize = 32
    /// Batches read from one socket before the others get their turn.
    private static let readsPerTurn = 4
    private static let sweepInterval: TimeAmount = .milliseconds(50)

    private let plan: UDPRelayPlan
    /// The listening socket of a `dns://` listener; nil for a gRPC listener's relay.
    private let listener: DatagramSocket?
    private let lanes: [RelayLane]
    private let incoming: DatagramBatch
    private let answers: DatagramBatch
    /// Answers to gRPC calls made in this turn, sent together from the completion-queue thread at the flush.
    private var callAnswers: [(call: RelayCall, reply: DNSMessage)] = []
    private var nextSweep = NIODeadline.now()

    init?(plan: UDPRelayPlan, listener: DatagramSocket?) {
        // Queries arrive whole up to a slot; replies are read as the NIO path reads them (UDPExchangeHandler).
        guard let incoming = DatagramBatch(capacity: Self.batchSize, slotSize: UDPExchangeHandler.receiveBufferSize),
              let answers = DatagramBatch(capacity: Self.batchSize, slotSize: UDPExchangeHandler.largestReply)
        else { return nil }
        var lanes: [RelayLane] = []
        for target in plan.targets {
            guard let lane = RelayLane(target: target, batchSize: Self.batchSize) else { return nil }
            lanes.append(lane)
        }
        self.plan = plan
        self.listener = listener
        self.lanes = lanes
        self.incoming = incoming
        self.answers = answers
    }

    /// Serves a `dns://` listener's socket on a relay thread until `control` stops it; then lets go of what is in
    /// flight.
    func run(until control: UDPRelay.Control) {
        while !control.isStopping {
            var watched: [(lane: RelayLane, socket: RelayLane.Socket)] = []
            for lane in lanes {
                for socket in lane.sockets { watched.append((lane, socket)) }
            }
            let ready = DatagramReadiness.wait(for: [listener?.waitable ?? -1] + watched.map(\.socket.socket.waitable),
                                               timeoutMS: 20)
            if ready.first == true { readQueries() }
            for (index, entry) in watched.enumerated() where index + 1 < ready.count && ready[index + 1] {
                readReplies(on: entry.socket, of: entry.lane)
            }
            // The sweep's answers (SERVFAIL after the last timeout) leave with this flush, not the next turn's.
            sweepIfDue()
            flushAll()
        }
        abandon()
    }

    /// Past the shutdown grace: what is still waiting gets no answer, but is no longer counted in flight.
    func abandon() {
        for lane in lanes {
            for waiting in lane.closeAll() { plan.engine.abandon(waiting.forwarded) }
        }
        flushAll()
    }

    // MARK: driven by a gRPC server's completion-queue thread (QueueThreadRelay)

    /// Sends what `forward` queued, then reads and answers every reply that has come, without waiting.
    func turn() {
        flushAll()
        for lane in lanes {
            for socket in lane.sockets where !socket.pending.isEmpty { readReplies(on: socket, of: lane) }
        }
        // Answers the sweep makes must leave now: with no call left waiting, the queue thread may sleep until the
        // next call comes.
        sweepIfDue()
        flushAll()
    }

    /// The sockets with exchanges waiting, for a wait on them.
    var waitingSockets: [Int32] {
        lanes.flatMap { lane in lane.sockets.filter { !$0.pending.isEmpty }.map(\.socket.waitable) }
    }

    /// A gRPC call whose query waits for a reply (the doorbell wakes the queue thread through it).
    var aWaitingCall: RelayCall? {
        for lane in lanes {
            for socket in lane.sockets {
                for waiting in socket.pending.values {
                    if case .call(let call) = waiting.client { return call }
                }
            }
        }
        return nil
    }

    /// How long until the next sweep for exchanges past their deadline.
    var untilNextSweep: Duration {
        let left = nextSweep - .now()
        return .nanoseconds(max(0, left.nanoseconds))
    }

    // MARK: queries

    private func readQueries() {
        guard let listener else { return }
        for _ in 0..<Self.readsPerTurn {
            let read = incoming.receive(from: listener) { bytes, cut, peer in datagram(bytes, cut: cut, from: peer) }
            guard case .success(let count) = read, count == incoming.capacity else { return }
            flushAll()
        }
    }

    private func datagram(_ bytes: [UInt8], cut: Bool, from peer: DatagramPeer) {
        let counters = ListenerCounters.shared
        guard !cut else {
            counters.droppedUDP.add(1, ordering: .relaxed)
            return
        }
        switch DatagramQuery(bytes, counters: counters) {
        case .query(let query): forward(query, from: .datagram(peer))
        case .formErr(let formErr): send(formErr.bytes, to: peer)
        case .drop: break
        }
    }

    /// Decides `query` with the listener's engine: answers it, or sends it on (with the next flush or `turn()`).
    func forward(_ query: DNSMessage, from client: RelayClient) {
        let now = NIODeadline.now()
        switch plan.engine.decide(query, from: client.asker, now: now) {
        case .answer(let reply):
            deliver(reply, to: client, for: query)
        case .forward(var forwarded):
            let first = forwarded.walk.start(now: now)
            drive(forwarded, first, replyTo: client)
        }
    }

    /// Does what the walk's `step` says: a UDP exchange on this thread's lane to that upstream, or the answer; a
    /// step the relay has no lane for (TCP, DoT and gRPC upstreams) goes on on an event loop.
    private func drive(_ forwarded: ListenerEngine.Forwarded, _ step: ForwardWalk.Step, replyTo client: RelayClient) {
        var (forwarded, step) = (forwarded, step)
        while true {
            switch step {
            case .answer(let reply):
                return deliver(plan.engine.finish(forwarded, reply: reply), to: client, for: forwarded.query)
            case .exchange(let upstream, .udp, let deadline):
                guard let lane = lanes.first(where: { $0.upstream === upstream }) else { fallthrough }
                let waiting = RelayLane.Pending(forwarded: forwarded, client: client, deadline: deadline)
                if lane.send(waiting, now: .now()) { return }
                step = forwarded.walk.failed(ExchangeError.connectionFailed(upstream: upstream.label,
                                                                            reason: "no socket or ID free"))
            case .exchange:
                return continueOnEventLoop(forwarded, step, replyTo: client)
            }
        }
    }

    // MARK: replies

    /// Reads what replies have come on `socket` (a few batches at most).
    private func readReplies(on socket: RelayLane.Socket, of lane: RelayLane) {
        for _ in 0..<Self.readsPerTurn {
            let read = incoming.receive(from: socket.socket) { bytes, cut, _ in
                reply(bytes, cut: cut, on: socket, of: lane)
            }
            switch read {
            case .success(let count):
                guard count == incoming.capacity else { return }
            case .failure(let error) where error.isTransient:
                return
            case .failure(let error):
                // ECONNREFUSED after an ICMP port unreachable: nothing listens at the upstream, so every query
                // waiting on this socket moves on to the next upstream now rather than at its deadline.
                let failure = ExchangeError.connectionFailed(upstream: lane.upstream.label, reason: "\(error)")
                for waiting in lane.takeAll(on: socket, now: .now()) { failed(waiting, failure) }
                return
            }
        }
    }

    private func reply(_ bytes: [UInt8], cut: Bool, on socket: RelayLane.Socket, of lane: RelayLane) {
        let counters = lane.target.counters
        guard bytes.count >= DNSHeader.size else {
            counters.mismatchedReplies.add(1, ordering: .relaxed)
            return
        }
        let id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        guard let waiting = socket.pending[id] else {
            counters.unexpectedReplies.add(1, ordering: .relaxed)  // most likely late, after its deadline
            return
        }
        let reply: DNSMessage
        if cut || bytes.count > UDPExchangeHandler.largestReply {
            // More than we take over UDP: answered as a server that could not fit it would (see UDPExchangeHandler).
            reply = waiting.query.truncatedEmptyReply()
        } else {
            var restored = bytes
            restored.setUInt16(waiting.query.header.id, at: 0)
            guard let parsed = try? DNSMessage(bytes: restored), parsed.isAnswer(to: waiting.query) else {
                // A spoofer who guessed the ID, or garbage: dropped, and the query keeps waiting for the real one.
                counters.mismatchedReplies.add(1, ordering: .relaxed)
                return
            }
            reply = parsed
        }
        _ = lane.take(id, on: socket, now: .now())
        var forwarded = waiting.forwarded
        let next = forwarded.walk.replied(reply)
        drive(forwarded, next, replyTo: waiting.client)
    }

    private func failed(_ waiting: RelayLane.Pending, _ error: ExchangeError) {
        var forwarded = waiting.forwarded
        let next = forwarded.walk.failed(error)
        drive(forwarded, next, replyTo: waiting.client)
    }

    /// Goes on with a walk the relay began on an event loop; the answer goes where the relay's would.
    private func continueOnEventLoop(_ forwarded: ListenerEngine.Forwarded, _ step: ForwardWalk.Step,
                                     replyTo client: RelayClient) {
        let (engine, deliver) = (plan.engine, delivery(for: forwarded.query, to: client))
        ForwardAttempt.resume(forwarded.walk, at: step, on: plan.group.next()).whenSuccess { walk, reply in
            var forwarded = forwarded
            forwarded.walk = walk
            deliver(engine.finish(forwarded, reply: reply))
        }
    }

    /// Sends a reply made on this thread: a datagram with the next flush, or a call's answer with the turn's.
    private func deliver(_ reply: DNSMessage, to client: RelayClient, for query: DNSMessage) {
        switch client {
        case .datagram(let peer):
            send(reply.truncated(toFit: query.maxUDPResponseSize).bytes, to: peer)
        case .call(let call):
            callAnswers.append((call, reply))
        }
    }

    /// How an answer made off this thread reaches `client`: a single datagram, or the call's responder.
    private func delivery(for query: DNSMessage, to client: RelayClient) -> @Sendable (DNSMessage) -> Void {
        switch client {
        case .datagram(let peer):
            guard let listener else { return { _ in } }
            return { reply in listener.send(reply.truncated(toFit: query.maxUDPResponseSize).bytes, to: peer) }
        case .call(let call):
            return call.answer
        }
    }

    private func send(_ bytes: [UInt8], to peer: DatagramPeer) {
        guard let listener else { return }
        if answers.isFull { answers.flush(on: listener) }
        if !answers.append(bytes, to: peer) { listener.send(bytes, to: peer) }  // larger than a slot
    }

    // MARK: upkeep

    private func flushAll() {
        lanes.forEach { $0.flush() }
        if let listener { answers.flush(on: listener) }
        if let first = callAnswers.first {
            let batch = callAnswers
            callAnswers.removeAll(keepingCapacity: true)
            first.call.onQueueThread {
                for (call, reply) in batch { call.answer(reply) }
            }
        }
    }

    private func sweepIfDue() {
        let now = NIODeadline.now()
        guard now >= nextSweep else { return }
        sweep(now: now)
        nextSweep = now + Self.sweepInterval
    }

    private func sweep(now: NIODeadline) {
        for lane in lanes {
            for waiting in lane.sweep(now: now) {
                failed(waiting, .timeout(upstream: lane.upstream.label))
            }
        }
    }
}
