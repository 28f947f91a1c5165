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
    /// CoreDNS's connection cache (coredns_forward_conn_cache_hits_total and _misses_total{to, proto}): an exchange
    /// that found its socket or connection open is a hit, one that had to open it a miss. UDP counts the workers'
    /// long-lived sockets; TCP and DoT their pooled connections.
    let udpConnectionHits = Atomic<Int>(0)
    let udpConnectionMisses = Atomic<Int>(0)
    let streamConnectionHits = Atomic<Int>(0)
    let streamConnectionMisses = Atomic<Int>(0)
}
