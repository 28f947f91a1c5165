import NIOCore
import Synchronization

/// The TCP/DoT connections of one listener, bounded so that no client can lock others out (RFC 7766 6.2.3 lets a
/// server close idle connections under pressure): at the cap the connection idle longest gives way to the new one
/// (one that never sent a whole query first); one client address holds at most `maxPerClient`; and past half full the
/// idle timeout of connections that never sent a whole query (idle floods, slowloris) shrinks with the free room left
/// (unbound's habit), so they go sooner the fuller the table is. A connection that has asked keeps the full idle
/// timeout: under a flood that refills the table a thousand times a second, a pipelining client the CPU left waiting
/// for a second between two replies was closed with its next queries in flight (`make soak`). A connection's own
/// handler keeps its slot's activity with atomics; the lock is taken only when a connection comes or goes.
final class ConnectionTable: Sendable {
    /// One connection's place in the table, updated by its handler without the table's lock.
    final class Slot: Sendable {
        fileprivate let channel: any Channel
        fileprivate let address: String
        private let inFlight = Atomic<Int>(0)
        private let asked = Atomic<Bool>(false)
        private let lastActivity = Atomic<Int64>(Int64(NIODeadline.now().uptimeNanoseconds))

        fileprivate init(channel: any Channel, address: String) {
            self.channel = channel
            self.address = address
        }

        /// A query came in.
        func queryStarted() {
            inFlight.add(1, ordering: .relaxed)
            asked.store(true, ordering: .relaxed)
            lastActivity.store(Int64(NIODeadline.now().uptimeNanoseconds), ordering: .relaxed)
        }

        /// A reply went out.
        func queryEnded() {
            inFlight.subtract(1, ordering: .relaxed)
            lastActivity.store(Int64(NIODeadline.now().uptimeNanoseconds), ordering: .relaxed)
        }

        /// Whether a whole query ever came on the connection.
        fileprivate var hasAsked: Bool { asked.load(ordering: .relaxed) }

        /// How long the connection has been idle (nothing in flight), or nil while it is busy.
        fileprivate func idle(at now: NIODeadline) -> TimeAmount? {
            guard inFlight.load(ordering: .relaxed) == 0 else { return nil }
            return .nanoseconds(Int64(now.uptimeNanoseconds) - lastActivity.load(ordering: .relaxed))
        }
    }

    private struct State {
        var slots: [ObjectIdentifier: Slot] = [:]
        var perAddress: [String: Int] = [:]
    }

    /// The shrunk idle timeout goes no lower: a new client has this long to send its first query, a TLS handshake
    /// on a loaded machine included.
    static let shortestIdleTimeout = TimeAmount.seconds(1)

    let maxConnections: Int
    let maxPerClient: Int
    let idleTimeout: TimeAmount
    private let state = Mutex(State())
    private let counters: ListenerCounters

    init(maxConnections: Int, maxPerClient: Int, idleTimeout: TimeAmount, counters: ListenerCounters) {
        self.maxConnections = max(1, maxConnections)
        self.maxPerClient = max(1, maxPerClient)
        self.idleTimeout = idleTimeout
        self.counters = counters
    }

    var count: Int { state.withLock { $0.slots.count } }

    /// The new connection's slot, or nil when it must be closed (its address is at its limit, or the table is full
    /// of busy connections). Closes the idle connections that give way to it.
    func admit(_ channel: any Channel, now: NIODeadline = .now()) -> Slot? {
        let address = channel.remoteAddress?.ipAddress ?? ""
        let (slot, evicted) = state.withLock { state -> (Slot?, [any Channel]) in
            guard state.perAddress[address, default: 0] < maxPerClient else { return (nil, []) }
            var evicted: [Slot] = []
            // Past half full, the idle timeout of silent connections shrinks with the room left: at 3/4 full it is
            // half, and never below `shortestIdleTimeout`.
            let fill = Double(state.slots.count) / Double(maxConnections)
            if fill > 0.5 {
                let shrunk = max(Self.shortestIdleTimeout,
                                 .nanoseconds(Int64(Double(idleTimeout.nanoseconds) * (1 - fill) * 2)))
                for slot in state.slots.values where !slot.hasAsked {
                    if let idle = slot.idle(at: now), idle >= shrunk { evicted.append(slot) }
                }
            }
            if state.slots.count - evicted.count >= maxConnections {
                // Still full: the connection idle longest gives way, one that never asked first, if any is idle.
                let spared = state.slots.values.filter { slot in !evicted.contains { $0 === slot } }
                let idle = spared.compactMap { slot in slot.idle(at: now).map { (slot: slot, idle: $0) } }
                let silent = idle.filter { !$0.slot.hasAsked }
                guard let oldest = (silent.isEmpty ? idle : silent).max(by: { $0.idle < $1.idle })?.slot
                else { return (nil, []) }
                evicted.append(oldest)
            }
            for gone in evicted { Self.remove(gone, from: &state) }
            let slot = Slot(channel: channel, address: address)
            state.slots[ObjectIdentifier(channel)] = slot
            state.perAddress[address, default: 0] += 1
            return (slot, evicted.map(\.channel))
        }
        for channel in evicted {
            counters.closedTCP.add(1, ordering: .relaxed)
            counters.evictedIdle.add(1, ordering: .relaxed)
            channel.close(promise: nil)
        }
        if slot == nil { counters.closedTCP.add(1, ordering: .relaxed) }
        return slot
    }

    /// Closes every connection (a configuration that was replaced, past its grace period).
    func closeAll() {
        let channels = state.withLock { $0.slots.values.map(\.channel) }
        for channel in channels { channel.close(promise: nil) }
    }

    /// The connection closed.
    func remove(_ slot: Slot) {
        state.withLock { Self.remove(slot, from: &$0) }
    }

    private static func remove(_ slot: Slot, from state: inout State) {
        guard state.slots.removeValue(forKey: ObjectIdentifier(slot.channel)) != nil else { return }
        let left = state.perAddress[slot.address, default: 1] - 1
        state.perAddress[slot.address] = left > 0 ? left : nil
    }
}
