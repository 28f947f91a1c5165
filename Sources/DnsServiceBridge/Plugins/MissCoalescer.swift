import NIOCore
import Synchronization

/// Identical cache misses in flight share one upstream query (beyond CoreDNS, as dnsdist and unbound do): the first
/// query for a name, type, class, DO and CD goes on to the upstreams, and the ones that arrive while it is out wait
/// for its reply, each then answered with its own ID and question. A waiting list is bounded; queries past the bound
/// go on by themselves.
final class MissCoalescer: Sendable {
    /// A query waiting for another's reply; its frontend says where the reply goes, before or after it comes.
    final class Follower: Sendable {
        private struct State {
            var reply: DNSMessage?
            var deliver: (@Sendable (DNSMessage) -> Void)?
        }

        private let state = Mutex(State())

        /// Where the reply goes; at once when it is already there.
        func whenAnswered(_ deliver: @escaping @Sendable (DNSMessage) -> Void) {
            let ready = state.withLock { state -> DNSMessage? in
                if state.reply == nil { state.deliver = deliver }
                return state.reply
            }
            if let ready { deliver(ready) }
        }

        /// The reply is there: delivered now, or when the frontend says where.
        func answer(_ reply: DNSMessage) {
            let deliver = state.withLock { state -> (@Sendable (DNSMessage) -> Void)? in
                state.reply = reply
                return state.deliver
            }
            deliver?(reply)
        }
    }

    /// One waiting query and what its own reply needs (its steps, its metrics).
    struct Waiter: Sendable {
        let query: DNSMessage
        let client: QueryClient
        let received: NIODeadline
        let follower: Follower
    }

    enum Role {
        /// Goes on to the upstreams; `release` hands its reply to whoever waits.
        case leader
        /// Waits for the leader's reply.
        case follower(Follower)
    }

    static let maxWaiters = 1000
    private let inFlight = Mutex<[CacheKey: [Waiter]]>([:])

    /// The query's part: the leader when no identical query is out (or its waiting list is full).
    func join(_ key: CacheKey, query: DNSMessage, client: QueryClient, received: NIODeadline) -> Role {
        inFlight.withLock { inFlight in
            guard var waiters = inFlight[key] else {
                inFlight[key] = []
                return .leader
            }
            guard waiters.count < Self.maxWaiters else { return .leader }
            let follower = Follower()
            waiters.append(Waiter(query: query, client: client, received: received, follower: follower))
            inFlight[key] = waiters
            return .follower(follower)
        }
    }

    /// The leader is done: the queries that waited for it, to be answered from its reply.
    func release(_ key: CacheKey) -> [Waiter] {
        inFlight.withLock { $0.removeValue(forKey: key) ?? [] }
    }

    /// Keys with a leader out now (for tests).
    var leaders: Int { inFlight.withLock { $0.count } }
}
