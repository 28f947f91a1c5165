import NIOCore

/// A plugin of a server block as a synchronous step of the engine's decision (CoreDNS's plugin chain without its
/// goroutine per query): it may answer from memory before the query goes on, and it sees (and may replace) the
/// reply of every query it let pass. Steps run on whatever thread decides the query: they never block.
protocol QueryStep: Sendable {
    /// The reply, when this step answers the query itself; nil lets it go on.
    func answer(_ query: DNSMessage, from client: QueryClient) -> DNSMessage?

    /// The reply of a query this step let pass, once there is one; returns what goes on towards the client.
    func completed(_ query: DNSMessage, reply: DNSMessage, _ outcome: QueryOutcome) -> DNSMessage

    /// Background work to stop when the configuration goes (a hosts file's re-reads).
    func stop()
}

extension QueryStep {
    func answer(_ query: DNSMessage, from client: QueryClient) -> DNSMessage? { nil }
    func completed(_ query: DNSMessage, reply: DNSMessage, _ outcome: QueryOutcome) -> DNSMessage { reply }
    func stop() {}
}

/// What the steps that let a query pass learn once its reply is there.
struct QueryOutcome: Sendable {
    let client: QueryClient
    /// When the query arrived.
    let received: NIODeadline
    /// Why forwarding failed, when the reply is a SERVFAIL of the walk's making.
    let failure: String?
}
