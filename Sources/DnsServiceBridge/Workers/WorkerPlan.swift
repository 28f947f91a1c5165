import NIOCore

/// What a worker that takes queries needs from its `dns://` or `grpc://` listener: the listener's engine (the decision
/// every frontend calls) and the event loops that carry on walks whose next step is not a UDP exchange.
struct WorkerPlan: Sendable {
    let engine: ListenerEngine
    let group: any EventLoopGroup

    /// How many workers serve the listener: one per event loop, as NIO has a channel per loop (a relay thread each
    /// for `dns://`, a completion queue each for gRPC).
    var threads: Int { group.loopCount }
}
