import Logging
import MetricsTestKit
import NIOCore
import NIOPosix
import Testing
@testable import DnsServiceBridge

/// The walk alone, with no socket and no event loop in the way: each test reports outcomes by hand and checks the
/// step the walk asks for next.
@Suite struct ForwardWalkTests {
    private let metrics = TestMetrics()
    private let store = QueryMetricsStore()

    private func set(_ count: Int, zone: DNSName = .root, configure: (inout ForwardOptions) -> Void = { _ in })
        -> UpstreamSet {
        var options = ForwardOptions()
        options.maxFails = 0  // no health checks unless a test marks an upstream down itself
        configure(&options)
        return UpstreamSet(zone: zone, except: [],
                           transports: (0..<count).map { (SilentExchanger("u\($0)"), weight: 1) },
                           policy: .sequential, options: options,
                           metrics: ForwardMetrics(plugin: "forward", factory: metrics, store: store),
                           group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))
    }

    private func query() -> DNSMessage {
        DNSMessage.query(name: try! DNSName("www.example.org."), type: .a, id: 4242)
    }

    private func reply(_ rcode: DNSResponseCode = .noError, truncated: Bool = false) -> DNSMessage {
        var bytes = query().errorReply(rcode).bytes
        if truncated { bytes[2] |= 0x02 }
        return try! DNSMessage(bytes: bytes)
    }

    /// The upstream and protocol of an exchange step; nil for an answer.
    private func exchange(_ step: ForwardWalk.Step) -> (upstream: String, proto: ExchangeProtocol)? {
        guard case .exchange(let upstream, let proto, _) = step else { return nil }
        return (upstream.label, proto)
    }

    private func answer(_ step: ForwardWalk.Step) -> DNSMessage? {
        guard case .answer(let reply) = step else { return nil }
        return reply
    }

    @Test func timeoutAndRefusalMoveToTheNextUpstreamAndAnAnswerEndsTheWalk() throws {
        let upstreams = set(3)
        var walk = ForwardWalk(query: query(), sets: [upstreams][...], transport: .udp)
        #expect(exchange(walk.start())! == ("u0", .udp))
        #expect(exchange(walk.failed(ExchangeError.timeout(upstream: "u0")))! == ("u1", .udp))
        #expect(exchange(walk.failed(ExchangeError.connectionFailed(upstream: "u1", reason: "refused")))! == ("u2", .udp))
        let answered = try #require(answer(walk.replied(reply(.nxDomain))))
        #expect(answered.rcode == .nxDomain)
        #expect(upstreams.upstreams.allSatisfy { $0.inFlight == 0 }, "every exchange ended")
        let sent = store.allSeries.filter { if case .request = $0.key { true } else { false } }.map(\.count.value)
        #expect(sent.reduce(0, +) == 3, "three exchanges counted as requests")
        #expect(QueryMetricsText.render(store).contains("coredns_forward_requests_total{to=\"u1\"} 1"))
    }

    @Test func everyUpstreamRefusingIsServfailWithTheLastError() throws {
        var walk = ForwardWalk(query: query(), sets: [set(2)][...], transport: .udp)
        _ = walk.start()
        _ = walk.failed(ExchangeError.connectionFailed(upstream: "u0", reason: "refused"))
        let reply = try #require(answer(walk.failed(ExchangeError.connectionFailed(upstream: "u1", reason: "gone"))))
        #expect(reply.rcode == .servFail)
        #expect(walk.failure == "cannot reach u1: gone")
    }

    @Test func aTimeoutStartsAnotherRoundWhileTheDeadlineAllows() throws {
        let now = NIODeadline.now()
        var walk = ForwardWalk(query: query(), sets: [set(2) { $0.requestTimeout = .seconds(5) }][...],
                               transport: .udp)
        _ = walk.start(now: now)
        _ = walk.failed(ExchangeError.timeout(upstream: "u0"), now: now + .seconds(2))
        #expect(exchange(walk.failed(ExchangeError.connectionFailed(upstream: "u1", reason: "x"),
                                     now: now + .seconds(2)))! == ("u0", .udp), "u0 only timed out: again")
        let reply = try #require(answer(walk.failed(ExchangeError.timeout(upstream: "u0"), now: now + .seconds(5))))
        #expect(reply.rcode == .servFail)
        #expect(walk.failure == "the request deadline passed")
    }

    @Test func theExchangeDeadlineIsTheShorterOfTheTimeoutAndTheRequestDeadline() throws {
        let now = NIODeadline.now()
        var walk = ForwardWalk(query: query(), sets: [set(1) {
            $0.requestTimeout = .seconds(3)
            $0.exchangeTimeout = .seconds(2)
        }][...], transport: .udp)
        guard case .exchange(_, _, let first) = walk.start(now: now) else { Issue.record("no exchange"); return }
        #expect(first == now + .seconds(2))
        guard case .exchange(_, _, let second) = walk.failed(ExchangeError.timeout(upstream: "u0"),
                                                             now: now + .seconds(2)) else {
            Issue.record("no second round")
            return
        }
        #expect(second == now + .seconds(3))
    }

    @Test func aTruncatedAnswerIsAskedAgainOverTCPOfTheSameUpstreamForClientsWithoutASizeLimit() throws {
        var grpc = ForwardWalk(query: query(), sets: [set(2)][...], transport: .grpc)
        #expect(exchange(grpc.start())! == ("u0", .udp))
        #expect(exchange(grpc.replied(reply(truncated: true)))! == ("u0", .tcp))
        let final = try #require(answer(grpc.replied(reply(truncated: true))))
        #expect(final.header.isTruncated, "the TCP answer is the answer, whatever it says")

        var udp = ForwardWalk(query: query(), sets: [set(2)][...], transport: .udp)
        _ = udp.start()
        #expect(try #require(answer(udp.replied(reply(truncated: true)))).header.isTruncated,
                "a UDP client retries over TCP itself")

        var preferUDP = ForwardWalk(query: query(), sets: [set(2) { $0.preferUDP = true }][...], transport: .udp)
        _ = preferUDP.start()
        #expect(exchange(preferUDP.replied(reply(truncated: true)))! == ("u0", .tcp), "prefer_udp retries itself")
    }

    @Test func theFirstProtocolFollowsTheClientAndTheOptions() {
        var tcp = ForwardWalk(query: query(), sets: [set(1)][...], transport: .tcp)
        #expect(exchange(tcp.start())! == ("u0", .tcp))
        var dot = ForwardWalk(query: query(), sets: [set(1) { $0.preferUDP = true }][...], transport: .tls)
        #expect(exchange(dot.start())! == ("u0", .udp))
        var forced = ForwardWalk(query: query(), sets: [set(1) { $0.forceTCP = true }][...], transport: .udp)
        #expect(exchange(forced.start())! == ("u0", .tcp))
    }

    @Test func aFailedTCPRetryMovesToTheNextUpstream() {
        var walk = ForwardWalk(query: query(), sets: [set(2)][...], transport: .grpc)
        _ = walk.start()
        _ = walk.replied(reply(truncated: true))
        #expect(exchange(walk.failed(ExchangeError.connectionClosed(upstream: "u0")))! == ("u1", .udp))
    }

    private func markDown(_ upstream: Upstream) {
        _ = upstream.health.checked(healthy: false)
    }

    @Test func downUpstreamsAreSkippedAndAllDownSpraysOrFailsFast() throws {
        let upstreams = set(3) { $0.maxFails = 1 }
        markDown(upstreams.upstreams[0])
        var walk = ForwardWalk(query: query(), sets: [upstreams][...], transport: .udp)
        #expect(exchange(walk.start())! == ("u1", .udp), "u0 is down")

        upstreams.upstreams.forEach(markDown)
        var sprayed: Set<String> = []
        for _ in 0..<60 {
            var walk = ForwardWalk(query: query(), sets: [upstreams][...], transport: .udp)
            sprayed.insert(try #require(exchange(walk.start())).upstream)
            walk.abandon()
        }
        #expect(sprayed == ["u0", "u1", "u2"], "one at random among all")
        #expect(metrics.counterTotal(label: "coredns_forward_healthcheck_broken_total") == 60)

        let failFast = set(2) {
            $0.maxFails = 1
            $0.failFastWhenAllDown = true
        }
        failFast.upstreams.forEach(markDown)
        var refused = ForwardWalk(query: query(), sets: [failFast][...], transport: .udp)
        #expect(try #require(answer(refused.start())).rcode == .servFail)
        #expect(refused.failure == "every upstream is down")
    }

    @Test func aSprayedExchangeThatFailsEndsTheWalk() throws {
        let upstreams = set(2) { $0.maxFails = 1 }
        upstreams.upstreams.forEach(markDown)
        var walk = ForwardWalk(query: query(), sets: [upstreams][...], transport: .udp)
        _ = walk.start()
        let reply = try #require(answer(walk.failed(ExchangeError.connectionFailed(upstream: "u", reason: "x"))))
        #expect(reply.rcode == .servFail)
    }

    @Test func maxConcurrentRefusesAndFreesItsSlotWhenTheWalkEnds() throws {
        let upstreams = set(1) { $0.maxConcurrent = 1 }
        var first = ForwardWalk(query: query(), sets: [upstreams][...], transport: .udp)
        #expect(exchange(first.start()) != nil)
        var second = ForwardWalk(query: query(), sets: [upstreams][...], transport: .udp)
        #expect(try #require(answer(second.start())).rcode == .refused)
        #expect(metrics.counterTotal(label: "coredns_forward_max_concurrent_rejects_total") == 1)
        _ = first.replied(reply())
        var third = ForwardWalk(query: query(), sets: [upstreams][...], transport: .udp)
        #expect(exchange(third.start()) != nil, "the first walk's slot is free again")
        third.abandon()
        var fourth = ForwardWalk(query: query(), sets: [upstreams][...], transport: .udp)
        #expect(exchange(fourth.start()) != nil, "an abandoned walk frees its slot too")
    }

    @Test func nextHandsTheReplyToTheFollowingSet() throws {
        let first = set(1) { $0.nextRcodes = [.servFail, .nxDomain] }
        let second = set(1)
        var walk = ForwardWalk(query: query(), sets: [first, second][...], transport: .udp)
        _ = walk.start()
        #expect(exchange(walk.replied(reply(.nxDomain))) != nil, "NXDOMAIN goes on")
        #expect(try #require(answer(walk.replied(reply(.nxDomain)))).rcode == .nxDomain, "the last set's reply stays")

        var failing = ForwardWalk(query: query(), sets: [first, second][...], transport: .udp)
        _ = failing.start()
        #expect(exchange(failing.failed(ExchangeError.timeout(upstream: "u0"), now: .now() + .seconds(6))) != nil,
                "a SERVFAIL of the first set's own making goes on too")

        var noSet = ForwardWalk(query: query(), sets: [][...], transport: .udp)
        #expect(try #require(answer(noSet.start())).rcode == .refused)
    }
}
