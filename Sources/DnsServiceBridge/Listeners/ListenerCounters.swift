import Synchronization

/// Inputs the listeners drop or refuse, counted (exported as metrics).
public final class ListenerCounters: Sendable {
    /// The process-wide counters.
    public static let shared = ListenerCounters()

    /// gRPC requests refused with INVALID_ARGUMENT.
    public let malformedGRPC = Atomic<Int>(0)
    /// UDP datagrams dropped because they are not a DNS query.
    public let droppedUDP = Atomic<Int>(0)
    /// Queries answered FORMERR because the header parsed but the body did not.
    public let formErrReplies = Atomic<Int>(0)
    /// TCP connections closed for a bad frame, idleness or the connection limit.
    public let closedTCP = Atomic<Int>(0)
    /// TCP/DoT connections closed because a message did not arrive whole in time (a subset of `closedTCP`).
    public let slowFrames = Atomic<Int>(0)
    /// TCP/DoT connections closed because the client did not read its replies in time (a subset of `closedTCP`).
    public let undrained = Atomic<Int>(0)
    /// Idle TCP/DoT connections closed to make room for new ones (a subset of `closedTCP`).
    public let evictedIdle = Atomic<Int>(0)
    /// TLS handshakes with DoT clients that failed.
    public let tlsHandshakeFailures = Atomic<Int>(0)
}
