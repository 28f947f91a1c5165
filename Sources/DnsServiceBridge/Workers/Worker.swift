import NIOCore

/// One worker thread, where queries run to completion with no hop: it takes queries (a batch read from a `dns://`
/// listener's socket on a relay thread, or the calls of a gRPC listener on that server's completion-queue thread),
/// has the listener's engine decide each (answered at once, or a walk to forward), sends plain DNS exchanges on its
/// own UDP lanes, matches the replies, drives the walk on, and answers (a batch of datagrams written at once, or the
/// gRPC call's responder), as dnsdist's UDP path does, with no future, channel pipeline or allocation per packet
/// beyond the message itself. A walk step it has no lane for (a TCP retry, a DoT or gRPC upstream) goes on on an
/// event loop with the same walk. A worker with an inbox also makes the UDP exchanges event loops ask for (walks
/// driven there, health checks): its lanes are the only UDP sockets to upstreams. Used on one thread only.
final class Worker {
    private static let batchSize = 32
    /// Batches read from one socket before the others get their turn.
    private static let readsPerTurn = 4
    private static let sweepInterval: TimeAmount = .milliseconds(50)

    /// The listener's engine; nil for a worker that only makes exchanges for event loops.
    private let plan: WorkerPlan?
    /// The listening socket of a `dns://` listener's relay thread.
    private let listener: DatagramSocket?
    /// Exchanges event loops hand over (the instance's exchange workers).
    private let inbox: WorkerInbox?
    /// A lane per upstream this worker has exchanged with, opened on first use.
    private var lanes: [UDPLane] = []
    private var laneIndex: [ObjectIdentifier: Int] = [:]
    private let incoming: DatagramBatch
    private let answers: DatagramBatch
    /// Answers to gRPC calls made in this turn, sent together from the completion-queue thread at the flush.
    private var callAnswers: [(call: RelayCall, reply: DNSMessage)] = []
    private var nextSweep = NIODeadline.now()

    /// nil when the buffers cannot be had.
    init?(plan: WorkerPlan?, listener: DatagramSocket?, inbox: WorkerInbox? = nil) {
        // Queries and replies are read whole, whatever their size; answers larger than a slot are sent on their own.
        guard let incoming = DatagramBatch(capacity: Self.batchSize, slotSize: UDPLane.largestDatagram),
              let answers = DatagramBatch(capacity: Self.batchSize, slotSize: UDPLane.largestReply)
        else { return nil }
        self.plan = plan
        self.listener = listener
        self.inbox = inbox
        self.incoming = incoming
        self.answers = answers
    }

    /// Serves the listener's socket and the inbox on a thread of its own until `control` stops it; then lets go of
    /// what is in flight.
    func run(until control: WorkerThreads.Control) {
        var reading = listener != nil
        while !control.isStopping {
            if reading && !control.isListening {
                reading = false
                control.stoppedReading()
            }
            var watched: [(lane: UDPLane, socket: UDPLane.Socket)] = []
            for lane in lanes {
                for socket in lane.sockets { watched.append((lane, socket)) }
            }
            let fixed = [reading ? listener?.waitable ?? -1 : -1, inbox?.waitable ?? -1]
            let ready = DatagramReadiness.wait(for: fixed + watched.map(\.socket.socket.waitable), timeoutMS: 20)
            if ready[0] { readQueries() }
            if ready[1] { takeInbox() }
            for (index, entry) in watched.enumerated() where index + fixed.count < ready.count
                && ready[index + fixed.count] {
                readReplies(on: entry.socket, of: entry.lane)
            }
            // The sweep's answers (SERVFAIL after the last timeout) leave with this flush, not the next turn's.
            sweepIfDue()
            flushAll()
        }
        abandon()
        inbox?.close()
    }

    /// Past the shutdown grace: what is still waiting gets no answer, but is no longer counted in flight.
    func abandon() {
        for lane in lanes {
            for waiting in lane.closeAll() {
                switch waiting.waiter {
                case .walk(let forwarded, _): plan?.engine.abandon(forwarded)
                case .promise(let promise): promise.fail(ExchangeError.shutDown)
                }
            }
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
                let call = socket.pending.firstMapped { waiting -> RelayCall? in
                    if case .walk(_, .call(let call)) = waiting.waiter { return call }
                    return nil
                }
                if let call { return call }
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
        guard let plan else { return }
        let now = NIODeadline.now()
        switch plan.engine.decide(query, from: client.asker, now: now) {
        case .answer(let reply):
            deliver(reply, to: client, for: query)
        case .forward(var forwarded):
            let first = forwarded.walk.start(now: now)
            drive(forwarded, first, replyTo: client)
        case .follow(let follower):
            follower.whenAnswered(delivery(for: query, to: client))
        case .drop:
            // A datagram gets nothing; a call ends now (this runs on its completion-queue thread).
            if case .call(let call) = client { call.drop() }
        }
    }

    /// Does what the walk's `step` says: a UDP exchange on this worker's lane to that upstream, or the answer; a
    /// step it has no lane for goes on on an event loop.
    private func drive(_ forwarded: ListenerEngine.Forwarded, _ step: ForwardWalk.Step, replyTo client: RelayClient) {
        guard let plan else { return }
        var (forwarded, step) = (forwarded, step)
        while true {
            switch step {
            case .answer(let reply):
                return deliver(plan.engine.finish(forwarded, reply: reply), to: client, for: forwarded.query)
            case .exchange where client.gaveUp:
                return plan.engine.abandon(forwarded)
            case .exchange(let upstream, .udp, let deadline):
                guard let target = upstream.udpTarget else { fallthrough }
                let waiting = UDPLane.Pending(query: forwarded.walk.outgoing, waiter: .walk(forwarded, replyTo: client),
                                              deadline: deadline)
                if lane(for: target)?.send(waiting, now: .now()) == true { return }
                step = forwarded.walk.failed(ExchangeError.connectionFailed(upstream: upstream.label,
                                                                            reason: "no socket or ID free"))
            case .exchange:
                return continueOnEventLoop(forwarded, step, replyTo: client)
            }
        }
    }

    /// The lane to `target`, opened on first use; nil when its buffers cannot be had.
    private func lane(for target: UDPLane.Target) -> UDPLane? {
        if let index = laneIndex[target.key] { return lanes[index] }
        guard let lane = UDPLane(target: target, batchSize: Self.batchSize) else { return nil }
        laneIndex[target.key] = lanes.count
        lanes.append(lane)
        return lane
    }

    // MARK: exchanges for event loops

    private func takeInbox() {
        guard let inbox else { return }
        let now = NIODeadline.now()
        for exchange in inbox.take() {
            let waiting = UDPLane.Pending(query: exchange.query, waiter: .promise(exchange.promise),
                                          deadline: exchange.deadline)
            if lane(for: exchange.target)?.send(waiting, now: now) != true {
                exchange.promise.fail(ExchangeError.connectionFailed(upstream: exchange.target.label,
                                                                     reason: "no socket or ID free"))
            }
        }
    }

    // MARK: replies

    /// Reads what replies have come on `socket` (a few batches at most).
    private func readReplies(on socket: UDPLane.Socket, of lane: UDPLane) {
        for _ in 0..<Self.readsPerTurn {
            let read = incoming.receive(from: socket.socket) { bytes, cut, _ in
                if case .reply(let waiting, let reply) = lane.arrival(bytes, cut: cut, on: socket, now: .now()) {
                    settle(waiting, .success(reply))
                }
            }
            switch read {
            case .success(let count):
                guard count == incoming.capacity else { return }
            case .failure(let error) where error.isTransient:
                return
            case .failure(let error):
                // ECONNREFUSED after an ICMP port unreachable: nothing listens at the upstream, so every query
                // waiting on this socket moves on to the next upstream now rather than at its deadline.
                let failure = ExchangeError.connectionFailed(upstream: lane.target.label, reason: "\(error)")
                for waiting in lane.takeAll(on: socket, now: .now()) { settle(waiting, .failure(failure)) }
                return
            }
        }
    }

    /// Ends the exchange `waiting` waited for: its walk goes on from the outcome, or its promise takes it.
    private func settle(_ waiting: UDPLane.Pending, _ outcome: Result<DNSMessage, ExchangeError>) {
        switch waiting.waiter {
        case .walk(var forwarded, let client):
            let next = switch outcome {
            case .success(let reply): forwarded.walk.replied(reply)
            case .failure(let error): forwarded.walk.failed(error)
            }
            drive(forwarded, next, replyTo: client)
        case .promise(let promise):
            promise.completeWith(outcome.mapError { $0 as any Error })
        }
    }

    /// Goes on with a walk this worker began on an event loop; the answer goes where the worker's would.
    private func continueOnEventLoop(_ forwarded: ListenerEngine.Forwarded, _ step: ForwardWalk.Step,
                                     replyTo client: RelayClient) {
        guard let plan else { return }
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
            send(reply.truncated(forUDPClientOf: query).bytes, to: peer)
        case .call(let call):
            callAnswers.append((call, reply))
        }
    }

    /// How an answer made off this thread reaches `client`: a single datagram, or the call's responder.
    private func delivery(for query: DNSMessage, to client: RelayClient) -> @Sendable (DNSMessage) -> Void {
        switch client {
        case .datagram(let peer):
            guard let listener else { return { _ in } }
            return { reply in listener.send(reply.truncated(forUDPClientOf: query).bytes, to: peer) }
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
        nextSweep = now + Self.sweepInterval
        for lane in lanes {
            for waiting in lane.sweep(now: now) {
                if waiting.clientGaveUp, case .walk(let forwarded, _) = waiting.waiter {
                    plan?.engine.abandon(forwarded)
                } else {
                    settle(waiting, .failure(.timeout(upstream: lane.target.label)))
                }
            }
        }
    }
}
