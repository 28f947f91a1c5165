import NIOCore

/// A plugin of a server block as a synchronous step of the engine's decision (CoreDNS's plugin chain without its
/// goroutine per query): it may answer from memory before the query goes on, and it sees (and may replace) the
/// reply of every query it let pass. Steps run on whatever thread decides the query: they never block.
protocol QueryStep: Sendable {
    /// The reply, when this step answers the query itself; nil lets it go on.
    func answer(_ query: DNSMessage, from client: QueryClient) -> DNSMessage?

    /// What a step before the forwarders makes of the query: `answer`'s reply or pass, unless the step may drop
    /// queries (a rate limit's `action drop`).
    func verdict(_ query: DNSMessage, from client: QueryClient) -> StepVerdict

    /// The reply of a query this step let pass, once there is one; returns what goes on towards the client.
    func completed(_ query: DNSMessage, reply: DNSMessage, _ outcome: QueryOutcome) -> DNSMessage

    /// A query this step let pass that a later step dropped: no reply will come.
    func dropped(_ query: DNSMessage, _ outcome: QueryOutcome)

    /// Background work to stop when the configuration goes (a hosts file's re-reads).
    func stop()
}

extension QueryStep {
    func answer(_ query: DNSMessage, from client: QueryClient) -> DNSMessage? { nil }
    func verdict(_ query: DNSMessage, from client: QueryClient) -> StepVerdict {
        answer(query, from: client).map(StepVerdict.answer) ?? .pass
    }
    func completed(_ query: DNSMessage, reply: DNSMessage, _ outcome: QueryOutcome) -> DNSMessage { reply }
    func dropped(_ query: DNSMessage, _ outcome: QueryOutcome) {}
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

/// What a step decides for a query on its way in.
enum StepVerdict {
    /// The query goes on to the next step.
    case pass
    /// The step's reply for the client.
    case answer(DNSMessage)
    /// No reply at all: the client hears nothing (UDP), or its transport's refusal (gRPC, DoH).
    case drop
}
