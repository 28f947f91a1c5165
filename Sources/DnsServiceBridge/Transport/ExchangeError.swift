/// Why one exchange with an upstream failed; every case makes the engine try the next upstream.
public enum ExchangeError: Error, Hashable, Sendable, CustomStringConvertible {
    case timeout(upstream: String)
    case connectionFailed(upstream: String, reason: String)
    case connectionClosed(upstream: String)
    case badReply(upstream: String, reason: String)
    case upstreamStatus(upstream: String, status: String)
    /// Every connection to the upstream already carries as many queries as it may.
    case tooManyInFlight(upstream: String, limit: Int)
    case shutDown

    public var description: String {
        switch self {
        case .timeout(let upstream): return "\(upstream) did not answer in time"
        case .connectionFailed(let upstream, let reason): return "cannot reach \(upstream): \(reason)"
        case .connectionClosed(let upstream): return "\(upstream) closed the connection before answering"
        case .badReply(let upstream, let reason): return "\(upstream) sent an unusable reply: \(reason)"
        case .upstreamStatus(let upstream, let status): return "\(upstream) answered with \(status)"
        case .tooManyInFlight(let upstream, let limit):
            return "\(upstream) already has \(limit) queries in flight on each connection it may open"
        case .shutDown: return "the forwarder is shutting down"
        }
    }

    /// A pooled connection that died while idle: retried once on a fresh connection, not counted as a failure.
    var isStaleConnection: Bool {
        if case .connectionClosed = self { return true }
        return false
    }
}
