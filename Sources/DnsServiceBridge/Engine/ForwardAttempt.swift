import Logging
import NIOCore

/// One query's walk through its upstream set, following CoreDNS's forward: the policy's order, skipping
/// upstreams that are down, the next one on any error, one at random when all are down, SERVFAIL at the end.
struct ForwardAttempt: Sendable {
    let query: DNSMessage
    let context: QueryContext
    let order: [Upstream]
    let deadline: NIODeadline
    let options: ForwardOptions
    let metrics: ForwardMetrics
    let logger: Logger

    func run() -> EventLoopFuture<DNSMessage> {
        let promise = context.eventLoop.makePromise(of: DNSMessage.self)
        step(from: 0, downSkipped: 0, promise: promise)
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

    private func step(from index: Int, downSkipped: Int, promise: EventLoopPromise<DNSMessage>) {
        var index = index
        var downSkipped = downSkipped
        while index < order.count {
            guard NIODeadline.now() < deadline else { return servfail(promise, "the request deadline passed") }
            let upstream = order[index]
            index += 1
            if upstream.isDown {
                downSkipped += 1
                if downSkipped < order.count { continue }
                // Every upstream is down: health checking itself may be what failed, so spray one at random.
                metrics.allUpstreamsDown()
                if options.failFastWhenAllDown { return servfail(promise, "every upstream is down") }
                let sprayed = order.randomElement() ?? upstream
                return exchange(with: sprayed, next: order.count, downSkipped: downSkipped, promise: promise)
            }
            return exchange(with: upstream, next: index, downSkipped: downSkipped, promise: promise)
        }
        servfail(promise, "every upstream failed")
    }

    private func exchange(with upstream: Upstream, next: Int, downSkipped: Int,
                          promise: EventLoopPromise<DNSMessage>) {
        let proto = firstProtocol
        let attemptDeadline = min(deadline, .now() + options.exchangeTimeout)
        upstream.exchange(query, over: proto, deadline: attemptDeadline)
            .flatMap { reply -> EventLoopFuture<DNSMessage> in
                // A truncated UDP answer goes back as is to a UDP client (it retries over TCP itself);
                // for every other client we retry over TCP now.
                guard reply.header.isTruncated, proto == .udp, !context.transport.isSizeLimited || options.preferUDP
                else { return context.eventLoop.makeSucceededFuture(reply) }
                return upstream.exchange(query, over: .tcp, deadline: min(deadline, .now() + options.exchangeTimeout))
            }
            .hop(to: context.eventLoop)
            .whenComplete { result in
                switch result {
                case .success(let reply):
                    promise.succeed(reply)
                case .failure(let error):
                    context.failure?.record("\(error)")
                    logger.debug("trying the next upstream", metadata: ["upstream": "\(upstream.label)",
                                                                       "error": "\(error)"])
                    step(from: next, downSkipped: downSkipped, promise: promise)
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
