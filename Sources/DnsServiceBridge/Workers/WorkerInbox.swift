import CGRPC
import NIOCore
import Synchronization

/// UDP exchanges that event loops (a walk driven there, a health check) hand to a worker, whose lanes are the only
/// UDP sockets to upstreams: a list under a lock and an eventfd in the worker's wait, signalled when the list stops
/// being empty, so a burst of exchanges costs one wake-up.
final class WorkerInbox: Sendable {
    /// One exchange asked for: the reply (or the failure) completes `promise`.
    struct Exchange: Sendable {
        let target: UDPLane.Target
        let query: DNSMessage
        let deadline: NIODeadline
        let promise: EventLoopPromise<DNSMessage>
    }

    private struct State {
        var exchanges: [Exchange] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let wakeup: OwnedDescriptor

    /// nil when the system gives no eventfd.
    init?() {
        let fd = cgrpc_wakeup_create()
        guard fd >= 0 else { return nil }
        wakeup = OwnedDescriptor(fd)
    }

    /// The descriptor the worker's wait watches.
    var waitable: Int32 { wakeup.withDescriptor { $0 } ?? -1 }

    /// Hands `exchange` to the worker; once the worker has stopped, it fails at once.
    func post(_ exchange: Exchange) {
        let posted = state.withLock { state -> Bool? in
            guard !state.closed else { return nil }
            state.exchanges.append(exchange)
            return state.exchanges.count == 1
        }
        switch posted {
        case nil: exchange.promise.fail(ExchangeError.shutDown)
        case true?: _ = wakeup.withDescriptor { cgrpc_wakeup_signal($0) }
        case false?: break
        }
    }

    /// Everything posted since the last take.
    func take() -> [Exchange] {
        _ = wakeup.withDescriptor { cgrpc_wakeup_drain($0) }
        return state.withLock { state in
            var taken: [Exchange] = []
            swap(&taken, &state.exchanges)
            return taken
        }
    }

    /// Fails what is still posted and closes the eventfd (the worker has stopped).
    func close() {
        let left = state.withLock { state -> [Exchange] in
            state.closed = true
            defer { state.exchanges = [] }
            return state.exchanges
        }
        wakeup.close()
        for exchange in left { exchange.promise.fail(ExchangeError.shutDown) }
    }
}
