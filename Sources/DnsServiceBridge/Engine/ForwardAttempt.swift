import NIOCore

/// Drives a `ForwardWalk` over upstream transports that answer with futures (stream lanes, gRPC, scripted
/// exchangers), on the client's event loop: every step of the walk runs there, one after the other.
final class ForwardAttempt: Sendable {
    private let loop: any EventLoop
    private let failure: QueryFailureNote?
    private let walk: NIOLoopBoundBox<ForwardWalk>

    private init(_ walk: ForwardWalk, context: QueryContext) {
        loop = context.eventLoop
        failure = context.failure
        self.walk = .makeBoxSendingValue(walk, eventLoop: context.eventLoop)
    }

    /// The reply for the client once the walk is over; the future never fails.
    static func run(_ walk: ForwardWalk, context: QueryContext) -> EventLoopFuture<DNSMessage> {
        var walk = walk
        let first = walk.start()
        return resume(walk, at: first, context: context)
    }

    /// Goes on with `walk` from `step` (a walk a worker began); the reply once it is over.
    static func resume(_ walk: ForwardWalk, at step: ForwardWalk.Step, context: QueryContext)
        -> EventLoopFuture<DNSMessage> {
        let promise = context.eventLoop.makePromise(of: DNSMessage.self)
        let attempt = ForwardAttempt(walk, context: context)
        if context.eventLoop.inEventLoop {
            attempt.take(step, promise: promise)
        } else {
            context.eventLoop.execute { attempt.take(step, promise: promise) }
        }
        return promise.futureResult
    }

    private func take(_ step: ForwardWalk.Step, promise: EventLoopPromise<DNSMessage>) {
        switch step {
        case .answer(let reply):
            if let reason = walk.value.failure { failure?.record(reason) }
            promise.succeed(reply)
        case .exchange(let upstream, let proto, let deadline):
            upstream.transport.exchange(walk.value.query, over: proto, deadline: deadline)
                .hop(to: loop).assumeIsolated().whenComplete { [self] result in
                    let next = switch result {
                    case .success(let reply): walk.value.replied(reply)
                    case .failure(let error): walk.value.failed(error)
                    }
                    take(next, promise: promise)
                }
        }
    }
}
