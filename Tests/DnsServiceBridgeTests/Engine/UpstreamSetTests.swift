import Logging
import MetricsTestKit
import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import DnsServiceBridge

/// An upstream for the engine's own tests, no socket: it answers with its rcode (the tag that tells who
/// answered), fails, or holds the query until released or its deadline passes, as a real transport would.
private final class ScriptedExchanger: UpstreamExchanger {
    enum Behaviour: Sendable { case answer, fail, hold }

    let label: String
    private let tag: DNSResponseCode
    private let group: any EventLoopGroup
    private let state: Mutex<(behaviour: Behaviour, queries: Int, checks: Int, held: [EventLoopPromise<DNSMessage>])>

    init(_ label: String, tag: DNSResponseCode, behaviour: Behaviour, group: any EventLoopGroup) {
        self.label = label
        self.tag = tag
        self.group = group
        state = Mutex((behaviour, 0, 0, []))
    }

    var behaviour: Behaviour {
        get { state.withLock { $0.behaviour } }
        set { state.withLock { $0.behaviour = newValue } }
    }
    /// Client queries seen (health checks, `. NS`, are counted apart).
    var queries: Int { state.withLock { $0.queries } }
    var checks: Int { state.withLock { $0.checks } }

    func exchange(_ query: DNSMessage, over proto: ExchangeProtocol, deadline: NIODeadline)
        -> EventLoopFuture<DNSMessage> {
        let loop = group.any()
        let isCheck = query.question?.type == .ns && query.question?.name == .root
        let behaviour = state.withLock { state in
            if isCheck { state.checks += 1 } else { state.queries += 1 }
            return state.behaviour
        }
        switch behaviour {
        case .answer:
            return loop.makeSucceededFuture(query.errorReply(tag))
        case .fail:
            return loop.makeFailedFuture(ExchangeError.connectionFailed(upstream: label, reason: "scripted"))
        case .hold:
            let promise = loop.makePromise(of: DNSMessage.self)
            state.withLock { $0.held.append(promise) }
            loop.scheduleTask(deadline: deadline) { promise.fail(ExchangeError.timeout(upstream: self.label)) }
            return promise.futureResult
        }
    }

    /// Answers every held query.
    func release(_ query: DNSMessage) {
        let held = state.withLock { state in
            defer { state.held.removeAll() }
            return state.held
        }
        held.forEach { $0.succeed(query.errorReply(tag)) }
    }

    var droppedReplies: Int { 0 }
    var idleConnections: Int { 0 }
    func close() {}
}

private struct Fixture {
    let group: MultiThreadedEventLoopGroup
    let metrics = TestMetrics()
    let upstreams: [ScriptedExchanger]
    let set: UpstreamSet

    init(_ behaviours: [ScriptedExchanger.Behaviour], policy: LoadBalancingPolicy = .sequential,
         configure: (inout ForwardOptions) -> Void = { _ in }) {
        let tags: [DNSResponseCode] = [.nxDomain, .notImp, .yxDomain]
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        upstreams = behaviours.enumerated().map { index, behaviour in
            ScriptedExchanger("u\(index)", tag: tags[index], behaviour: behaviour, group: group)
        }
        var options = ForwardOptions()
        // Long enough that a failed upstream stays down for the whole test once marked.
        options.healthCheckInterval = .seconds(60)
        configure(&options)
        set = UpstreamSet(zone: .root, except: [], transports: upstreams.map { ($0, weight: 1) }, policy: policy,
                          options: options, metrics: ForwardMetrics(plugin: "forward", factory: metrics),
                          group: group, logger: Logger(label: "test"))
    }

    func ask(_ name: String = "www.example.org.") async throws -> DNSMessage {
        let query = DNSMessage.query(name: try DNSName(name), type: .a, id: 4242)
        let context = QueryContext(client: nil, transport: .udp, eventLoop: group.any())
        let reply = try await set.forward(query, context: context).get()
        #expect(reply.header.id == 4242 && reply.isAnswer(to: query), "the reply answers this query")
        return reply
    }

    /// Waits (bounded) until `condition` holds.
    func eventually(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition(), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(condition(), "timed out waiting until \(what)")
    }

    func shutdown() async throws {
        set.stop()
        try await group.shutdownGracefully()
    }
}

@Test func failedExchangeMovesToTheNextUpstream() async throws {
    let fixture = Fixture([.fail, .answer])
    #expect(try await fixture.ask().rcode == .notImp, "the second upstream's answer")
    #expect(fixture.upstreams.map(\.queries) == [1, 1])
    try await fixture.eventually("the failed upstream is health checked") { fixture.upstreams[0].checks >= 1 }
    #expect(fixture.upstreams[1].checks == 0, "a healthy upstream is not checked")
    try await fixture.shutdown()
}

@Test func everyUpstreamFailedIsServfail() async throws {
    let fixture = Fixture([.fail, .fail, .fail])
    #expect(try await fixture.ask().rcode == .servFail)
    #expect(fixture.upstreams.map(\.queries) == [1, 1, 1], "each tried once")
    try await fixture.shutdown()
}

@Test func downUpstreamGetsNoQueries() async throws {
    let fixture = Fixture([.fail, .answer]) { $0.maxFails = 1 }
    _ = try await fixture.ask()
    try await fixture.eventually("the first upstream is down") { fixture.set.upstreams[0].isDown }
    for _ in 0..<10 { #expect(try await fixture.ask().rcode == .notImp) }
    #expect(fixture.upstreams[0].queries == 1, "skipped while down")
    try await fixture.shutdown()
}

@Test func healthCheckBringsAnUpstreamBack() async throws {
    let fixture = Fixture([.fail, .answer]) {
        $0.maxFails = 1
        $0.healthCheckInterval = .milliseconds(50)
    }
    _ = try await fixture.ask()
    try await fixture.eventually("the first upstream is down") { fixture.set.upstreams[0].isDown }
    fixture.upstreams[0].behaviour = .answer
    try await fixture.eventually("the first upstream is back") { !fixture.set.upstreams[0].isDown }
    #expect(try await fixture.ask().rcode == .nxDomain, "sequential: the first upstream again")
    let checks = fixture.upstreams[0].checks
    try await Task.sleep(for: .milliseconds(200))
    #expect(fixture.upstreams[0].checks == checks, "checking stops once it answers")
    try await fixture.shutdown()
}

@Test func maxFailsZeroNeverChecks() async throws {
    let fixture = Fixture([.fail, .answer]) { $0.maxFails = 0 }
    for _ in 0..<5 { _ = try await fixture.ask() }
    try await Task.sleep(for: .milliseconds(50))
    #expect(fixture.upstreams[0].queries == 5, "never marked down")
    #expect(fixture.upstreams[0].checks == 0)
    try await fixture.shutdown()
}

/// Marks every upstream down (max_fails 1, each fails one query and its first health check), then lets them answer.
private func allDown(_ fixture: Fixture) async throws {
    _ = try await fixture.ask()
    try await fixture.eventually("every upstream is down") { fixture.set.upstreams.allSatisfy(\.isDown) }
    for upstream in fixture.upstreams { upstream.behaviour = .answer }
}

@Test func allDownSpraysToOneAtRandom() async throws {
    let fixture = Fixture([.fail, .fail, .fail]) { $0.maxFails = 1 }
    try await allDown(fixture)
    var answeredBy: Set<DNSResponseCode> = []
    for _ in 0..<60 { answeredBy.insert(try await fixture.ask().rcode) }
    #expect(answeredBy == [.nxDomain, .notImp, .yxDomain], "spraying picks at random among all")
    #expect(fixture.metrics.counterTotal(label: "coredns_forward_healthcheck_broken_total") == 60)
    try await fixture.shutdown()
}

@Test func allDownWithFailfastIsServfail() async throws {
    let fixture = Fixture([.fail, .fail]) {
        $0.maxFails = 1
        $0.failFastWhenAllDown = true
    }
    try await allDown(fixture)
    let before = fixture.upstreams.map(\.queries)
    #expect(try await fixture.ask().rcode == .servFail)
    #expect(fixture.upstreams.map(\.queries) == before, "nothing is sent")
    #expect(fixture.metrics.counterTotal(label: "coredns_forward_healthcheck_broken_total") == 1)
    try await fixture.shutdown()
}

@Test func deadlinePassingIsServfail() async throws {
    // An exchange timeout far above the request deadline, so that a loaded machine's delays cannot blur the two.
    let fixture = Fixture([.hold, .answer]) {
        $0.requestTimeout = .milliseconds(300)
        $0.exchangeTimeout = .seconds(60)
    }
    let started = NIODeadline.now()
    #expect(try await fixture.ask().rcode == .servFail)
    #expect(NIODeadline.now() - started < .seconds(30), "the request deadline, not the exchange timeout")
    #expect(fixture.upstreams[1].queries == 0, "nothing is tried after the deadline")
    try await fixture.shutdown()
}

@Test func exchangeTimeoutMovesOnWithinTheDeadline() async throws {
    let fixture = Fixture([.hold, .answer]) { $0.exchangeTimeout = .milliseconds(200) }
    #expect(try await fixture.ask().rcode == .notImp)
    try await fixture.shutdown()
}

@Test func maxConcurrentRefusesOverTheLimit() async throws {
    // Long timeouts: a loaded machine must not time the held queries out and retry them before `release`.
    let fixture = Fixture([.hold]) {
        $0.maxConcurrent = 2
        $0.requestTimeout = .seconds(60)
        $0.exchangeTimeout = .seconds(60)
    }
    let query = DNSMessage.query(name: try DNSName("slow.example."), type: .a, id: 1)
    let context = QueryContext(client: nil, transport: .udp, eventLoop: fixture.group.any())
    let first = fixture.set.forward(query, context: context)
    let second = fixture.set.forward(query, context: context)
    #expect(try await fixture.ask().rcode == .refused, "the third concurrent query")
    #expect(fixture.metrics.counterTotal(label: "coredns_forward_max_concurrent_rejects_total") == 1)
    #expect(fixture.upstreams[0].queries == 2, "the refused query never reached the upstream")
    fixture.upstreams[0].release(query)
    #expect(try await first.get().rcode == .nxDomain)
    #expect(try await second.get().rcode == .nxDomain)
    fixture.upstreams[0].behaviour = .answer
    #expect(try await fixture.ask().rcode == .nxDomain, "below the limit again")
    try await fixture.shutdown()
}

@Test func exceptNamesAreNotServed() throws {
    let fixture = Fixture([.answer])
    let set = UpstreamSet(zone: try DNSName("example.org."), except: [try DNSName("internal.example.org.")],
                          transports: [], policy: .random, options: ForwardOptions(),
                          metrics: ForwardMetrics(plugin: "forward", factory: fixture.metrics),
                          group: fixture.group, logger: Logger(label: "test"))
    #expect(set.matches(try DNSName("www.example.org.")))
    #expect(set.matches(try DNSName("example.org.")))
    #expect(!set.matches(try DNSName("a.internal.example.org.")))
    #expect(!set.matches(try DNSName("example.com.")))
    try fixture.group.syncShutdownGracefully()
}

@Test func nextRcodeHandsTheQueryToTheNextSet() async throws {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let metrics = ForwardMetrics(plugin: "forward", factory: TestMetrics())
    let first = ScriptedExchanger("first", tag: .nxDomain, behaviour: .answer, group: group)
    let second = ScriptedExchanger("second", tag: .notImp, behaviour: .answer, group: group)
    func set(_ upstream: ScriptedExchanger, configure: (inout ForwardOptions) -> Void) -> UpstreamSet {
        var options = ForwardOptions()
        configure(&options)
        return UpstreamSet(zone: .root, except: [], transports: [(upstream, weight: 1)], policy: .random,
                           options: options, metrics: metrics, group: group, logger: Logger(label: "test"))
    }
    let query = DNSMessage.query(name: try DNSName("gone.example.org."), type: .a, id: 9)
    let context = QueryContext(client: nil, transport: .udp, eventLoop: group.any())

    let withNext = Forwarder(sets: [set(first) { $0.nextRcodes = [.nxDomain] }, set(second) { _ in }])
    #expect(try await withNext.forward(query, context: context).get().rcode == .notImp, "NXDOMAIN went on")

    let withoutNext = Forwarder(sets: [set(first) { _ in }, set(second) { _ in }])
    #expect(try await withoutNext.forward(query, context: context).get().rcode == .nxDomain)

    let zone = try DNSName("example.org.")
    let fallsThrough = Forwarder(sets: [set(first) { $0.fallthroughZones = [zone] },
                                       set(second) { _ in }])
    #expect(try await fallsThrough.forward(query, context: context).get().rcode == .notImp)
    let elsewhere = DNSMessage.query(name: try DNSName("gone.example.com."), type: .a, id: 9)
    #expect(try await fallsThrough.forward(elsewhere, context: context).get().rcode == .nxDomain,
            "fallthrough only for its zones")
    try await group.shutdownGracefully()
}
