import NIOCore

/// Drives a `ForwardWalk` over upstream transports that answer with futures (stream lanes, gRPC, scripted
/// exchangers), on the client's event loop: every step of the walk runs there, one after the other.
final class ForwardAttempt: Sendable {
    /// The walk as it ended (it says why it failed, if it did) and the reply for the client.
    typealias Outcome = (walk: ForwardWalk, reply: DNSMessage)

    private let loop: any EventLoop
    private let walk: NIOLoopBoundBox<ForwardWalk>

    private init(_ walk: ForwardWalk, on loop: any EventLoop) {
        self.loop = loop
        self.walk = .makeBoxSendingValue(walk, eventLoop: loop)
    }

    /// The walk from its start until it is over; the future never fails.
    static func run(_ walk: ForwardWalk, context: QueryContext) -> EventLoopFuture<Outcome> {
        var walk = walk
        let first = walk.start()
        return resume(walk, at: first, on: context.eventLoop)
    }

    /// Goes on with `walk` from `step` (a walk a worker began) on `loop` until it is over.
    static func resume(_ walk: ForwardWalk, at step: ForwardWalk.Step, on loop: any EventLoop)
        -> EventLoopFuture<Outcome> {
        let promise = loop.makePromise(of: Outcome.self)
        let attempt = ForwardAttempt(walk, on: loop)
        if loop.inEventLoop {
            attempt.take(step, promise: promise)
        } else {
            loop.execute { attempt.take(step, promise: promise) }
        }
        return promise.futureResult
    }

    private func take(_ step: ForwardWalk.Step, promise: EventLoopPromise<Outcome>) {
        switch step {
        case .answer(let reply):
            promise.succeed((walk.value, reply))
        case .exchange(let upstream, let proto, let deadline):
            upstream.transport.exchange(walk.value.outgoing, over: proto, deadline: deadline,
                                        clientAddress: walk.value.clientAddressText)
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
