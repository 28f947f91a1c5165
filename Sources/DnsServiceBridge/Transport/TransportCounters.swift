import Synchronization

/// What a transport drops on the floor, counted (exported as metrics).
final class TransportCounters: Sendable {
    /// Replies whose ID or question did not match the query waiting on that socket (spoofing or stale).
    let mismatchedReplies = Atomic<Int>(0)
    /// Datagrams that arrived while no exchange was waiting.
    let unexpectedReplies = Atomic<Int>(0)
    /// Exchanges started, for least_conn and metrics.
    let exchanges = Atomic<Int>(0)
    /// TLS handshakes with the upstream that failed (DoT).
    let tlsHandshakeFailures = Atomic<Int>(0)
    /// The workers' UDP sockets to the upstream open now, current and draining.
    let openSockets = Atomic<Int>(0)
}
