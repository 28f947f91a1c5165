import Logging
import NIOCore

/// One query's walk through its upstream set, following CoreDNS's forward: the policy's order, skipping
/// upstreams that are down, the next one on any error, one at random when all are down, and another round
/// while the deadline allows if an upstream merely timed out; SERVFAIL at the end.
///
/// A class: each step's callback captures one reference instead of copying (and retaining every field of) the
/// options, context and logger, which showed as the largest share of retain/release in profiles. Its state is
/// immutable; the walk's progress travels in the callbacks.
final class ForwardAttempt: Sendable {
    let query: DNSMessage
    let context: QueryContext
    let order: [Upstream]
    let deadline: NIODeadline
    let options: ForwardOptions
    let metrics: ForwardMetrics
    let logger: Logger

    init(query: DNSMessage, context: QueryContext, order: [Upstream], deadline: NIODeadline, options: ForwardOptions,
         metrics: ForwardMetrics, logger: Logger) {
        self.query = query
        self.context = context
        self.order = order
        self.deadline = deadline
        self.options = options
        self.metrics = metrics
        self.logger = logger
    }

    func run() -> EventLoopFuture<DNSMessage> {
        let promise = context.eventLoop.makePromise(of: DNSMessage.self)
        step(Progress(), promise: promise)
        return promise.futureResult
    }

    /// The protocol for this client, as CoreDNS picks it; gRPC clients have no size limit, so they start on
    /// UDP and move to TCP on TC, like `prefer_udp`.
    var firstProtocol: ExchangeProtocol {
        if options.forceTCP { return .tcp }
        if options.preferUDP { return .udp }
        switch context.transport {
        case .udp, .grpc: return .udp
        case .tcp, .tls: return .tcp
        }
    }

    /// Where the walk is: the next index in `order`, upstreams skipped as down, and whether any exchange of this
    /// round timed out (a slow upstream may answer a second try; one that refused will not).
    private struct Progress {
        var index = 0
        var downSkipped = 0
        var sawTimeout = false
    }

    private func step(_ progress: Progress, promise: EventLoopPromise<DNSMessage>) {
        var progress = progress
        while true {
            guard NIODeadline.now() < deadline else { return servfail(promise, "the request deadline passed") }
            if progress.index >= order.count {
                guard progress.sawTimeout else { return servfail(promise, "every upstream failed") }
                progress = Progress()
            }
            let upstream = order[progress.index]
            progress.index += 1
            if upstream.isDown {
                progress.downSkipped += 1
                if progress.downSkipped < order.count { continue }
                // Every upstream is down: health checking itself may be what failed, so spray one at random.
                metrics.allUpstreamsDown()
                if options.failFastWhenAllDown { return servfail(promise, "every upstream is down") }
                progress.index = order.count
                return exchange(with: order.randomElement() ?? upstream, progress, promise: promise)
            }
            return exchange(with: upstream, progress, promise: promise)
        }
    }

    private func exchange(with upstream: Upstream, _ progress: Progress, promise: EventLoopPromise<DNSMessage>) {
        let proto = firstProtocol
        upstream.exchange(query, over: proto, deadline: min(deadline, .now() + options.exchangeTimeout))
            .whenComplete { [self] result in
                switch result {
                case .success(let reply):
                    // A truncated UDP answer goes back as is to a UDP client (it retries over TCP itself);
                    // for every other client we retry over TCP now.
                    if reply.header.isTruncated, proto == .udp, !context.transport.isSizeLimited || options.preferUDP {
                        upstream.exchange(query, over: .tcp, deadline: min(deadline, .now() + options.exchangeTimeout))
                            .whenComplete { [self] result in finish(result, from: upstream, progress, promise: promise) }
                    } else {
                        promise.succeed(reply)
                    }
                case .failure:
                    finish(result, from: upstream, progress, promise: promise)
                }
            }
    }

    /// Answers with the reply, or moves on to the next upstream after a failure. `promise` belongs to the
    /// client's event loop, so completing it from an upstream's loop hops there by itself.
    private func finish(_ result: Result<DNSMessage, any Error>, from upstream: Upstream, _ progress: Progress,
                        promise: EventLoopPromise<DNSMessage>) {
        switch result {
        case .success(let reply):
            promise.succeed(reply)
        case .failure(let error):
            context.failure?.record("\(error)")
            logger.debug("trying the next upstream", metadata: ["upstream": "\(upstream.label)",
                                                               "error": "\(error)"])
            var following = progress
            if case .timeout = error as? ExchangeError { following.sawTimeout = true }
            let next = following
            if context.eventLoop.inEventLoop {
                step(next, promise: promise)
            } else {
                context.eventLoop.execute { [self] in step(next, promise: promise) }
            }
        }
    }

    private func servfail(_ promise: EventLoopPromise<DNSMessage>, _ reason: String) {
        // The last upstream error says more than "every upstream failed"; keep it when there is one.
        if context.failure?.reason == nil || reason != "every upstream failed" { context.failure?.record(reason) }
        logger.debug("answering SERVFAIL", metadata: ["name": "\(query.question?.name.description ?? "-")",
                                                      "reason": "\(reason)"])
        promise.succeed(query.errorReply(.servFail))
    }
}
