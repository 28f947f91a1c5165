import Metrics
import Synchronization

/// Work done just before each scrape: copying counters the engine keeps as atomics into the registry and
/// setting gauges (pooled sockets, health), so none of it costs anything on the query path.
public final class MetricsCollectors: Sendable {
    /// The process-wide list; metrics are process-wide too.
    public static let shared = MetricsCollectors()

    /// A collector's handle, to remove it when its server instance stops.
    public struct Token: Hashable, Sendable {
        fileprivate let id: Int
    }

    private struct State {
        var next = 0
        var collectors: [Int: @Sendable () -> Void] = [:]
        /// The last value copied per counter source, so counters only ever grow by the difference.
        var copied: [CopyKey: Int] = [:]
    }

    private struct CopyKey: Hashable {
        let source: ObjectIdentifier
        let name: String
    }

    private let state = Mutex(State())

    public init() {}

    /// Adds a collector; it runs on every scrape until removed.
    public func add(_ collector: @escaping @Sendable () -> Void) -> Token {
        state.withLock { state in
            state.next += 1
            state.collectors[state.next] = collector
            return Token(id: state.next)
        }
    }

    public func remove(_ token: Token) {
        _ = state.withLock { $0.collectors.removeValue(forKey: token.id) }
    }

    /// Runs every collector (before a scrape).
    public func collect() {
        let collectors = state.withLock { Array($0.collectors.values) }
        for collector in collectors { collector() }
    }

    /// Makes `counter` grow by what `total` (a running total kept by `source`) grew since the last call; the
    /// counter exists (at 0) from the first scrape on, so alerts on it need no "absent" case.
    func copy(_ total: Int, from source: AnyObject, name: String, into counter: Counter) {
        let key = CopyKey(source: ObjectIdentifier(source), name: name)
        let delta = state.withLock { state -> Int in
            let last = state.copied[key] ?? 0
            state.copied[key] = max(last, total)
            return total - last
        }
        if delta > 0 { counter.increment(by: Int64(delta)) }
    }
}
