import NIOCore

/// One upstream's way of exchanging a query for its reply (plain DNS, DoT or gRPC).
public protocol UpstreamExchanger: AnyObject, Sendable {
    /// The upstream as configured (`to` in metrics and logs).
    var label: String { get }

    /// Sends `query` and completes with the reply whose ID and question match it, or an `ExchangeError`.
    /// `proto` matters only to plain DNS; other transports have one protocol.
    func exchange(_ query: DNSMessage, over proto: ExchangeProtocol, deadline: NIODeadline)
        -> EventLoopFuture<DNSMessage>

    /// The same, with the address of the client that asked (`send_client_address`), for transports that can
    /// carry it (gRPC request metadata); the others ignore it.
    func exchange(_ query: DNSMessage, over proto: ExchangeProtocol, deadline: NIODeadline, clientAddress: String?)
        -> EventLoopFuture<DNSMessage>

    /// Replies dropped since start because they did not match their query (source, ID, question, or not DNS).
    var droppedReplies: Int { get }

    /// Idle pooled connections (or 1 for a connected gRPC channel), for metrics.
    var idleConnections: Int { get }

    /// Closes every connection; exchanges in flight fail.
    func close()
}

extension UpstreamExchanger {
    public func exchange(_ query: DNSMessage, over proto: ExchangeProtocol, deadline: NIODeadline,
                         clientAddress: String?) -> EventLoopFuture<DNSMessage> {
        exchange(query, over: proto, deadline: deadline)
    }
}
