import NIOCore

/// A connection to an upstream that carries one exchange at a time and can be kept for the next one.
protocol PooledConnection: AnyObject, Sendable {
    /// Whether the connection can still carry an exchange.
    var isOpen: Bool { get }

    func exchange(_ query: DNSMessage, deadline: NIODeadline) -> EventLoopFuture<DNSMessage>

    func close()
}
