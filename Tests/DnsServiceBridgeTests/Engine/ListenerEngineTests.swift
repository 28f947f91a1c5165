import Logging
import MetricsTestKit
import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import DnsServiceBridge

/// The one decision every frontend calls, with no socket: routing by zone, the gate, the blocks' steps, and what
/// a forwarded query's reply goes through on its way back.
@Suite struct ListenerEngineTests {
    private let metrics = TestMetrics()
    private let client = QueryClient(transport: .udp, address: try! SocketAddress(ipAddress: "192.0.2.7", port: 5300))

    private func forwarder(_ zone: String, upstream: String) throws -> Forwarder {
        Forwarder(sets: [UpstreamSet(zone: try DNSName(zone), except: [],
                                     transports: [(SilentExchanger(upstream), weight: 1)], policy: .random,
                                     options: ForwardOptions(),
                                     metrics: ForwardMetrics(plugin: "forward", factory: metrics),
                                     group: MultiThreadedEventLoopGroup.singleton, logger: Logger(label: "test"))])
    }

    private func engine(_ routes: [(String, ServerBlockEngine)], inFlight: InFlightQueries = InFlightQueries())
        throws -> ListenerEngine {
        ListenerEngine(routes: try routes.map { ListenerEngine.Route(zone: try DNSName($0.0), network: nil, block: $0.1) },
                       metrics: ServerMetrics(server: "dns://:53"), inFlight: inFlight)
    }

    private func query(_ name: String, _ type: DNSRecordType = .a) throws -> DNSMessage {
        try PluginTestSupport.query(name, type)
    }

    private func answer(_ decision: ListenerEngine.Decision) -> DNSMessage? {
        guard case .answer(let reply) = decision else { return nil }
        return reply
    }

    private func forwarded(_ decision: ListenerEngine.Decision) -> ListenerEngine.Forwarded? {
        guard case .forward(let forwarded) = decision else { return nil }
        return forwarded
    }

    @Test func theMostSpecificZoneDecidesAndANameNoBlockServesIsRefused() throws {
        let wide = ServerBlockEngine(before: [], forwarder: try forwarder(".", upstream: "wide"), after: [])
        let narrow = ServerBlockEngine(before: [], forwarder: try forwarder("example.org.", upstream: "narrow"),
                                       after: [])
        let listener = try engine([(".", wide), ("example.org.", narrow)])
        var walk = try #require(forwarded(listener.decide(try query("www.example.org."), from: client))).walk
        guard case .exchange(let upstream, _, _) = walk.start() else { Issue.record("no exchange"); return }
        #expect(upstream.label == "narrow")
        walk.abandon()

        let only = try engine([("example.org.", narrow)])
        #expect(try #require(answer(only.decide(try query("www.example.com."), from: client))).rcode == .refused)
        #expect(only.inFlight.current == 0, "an answered query is done")
    }

    @Test func aQueryWithoutAQuestionIsFormErr() throws {
        let listener = try engine([(".", ServerBlockEngine(before: [], forwarder: nil, after: [WhoamiPlugin()]))])
        var bytes = try query("x.").bytes
        bytes = Array(bytes[0..<DNSHeader.size])
        bytes.setUInt16(0, at: 4)  // QDCOUNT 0
        let empty = try DNSMessage(bytes: bytes)
        #expect(try #require(answer(listener.decide(empty, from: client))).rcode == .formErr)
    }

    @Test func stepsAfterTheForwardersAnswerWhatNoSetServesAndOtherwiseTheBlockRefuses() throws {
        let block = ServerBlockEngine(before: [], forwarder: try forwarder("example.org.", upstream: "u"),
                                      after: [WhoamiPlugin()])
        let listener = try engine([(".", block)])
        #expect(forwarded(listener.decide(try query("a.example.org."), from: client)) != nil, "the set's zone")
        let whoami = try #require(answer(listener.decide(try query("elsewhere.net."), from: client)))
        #expect(whoami.rcode == .noError && whoami.header.additionalCount == 2, "whoami's A and SRV")

        let bare = try engine([(".", ServerBlockEngine(before: [], forwarder: try forwarder("example.org.",
                                                                                           upstream: "u"), after: []))])
        #expect(try #require(answer(bare.decide(try query("elsewhere.net."), from: client))).rcode == .refused)
    }

    @Test func aCachedReplyIsAnsweredInTheDecisionWithNoWalk() throws {
        let cache = CachePlugin(CacheConfiguration(ttl: 30, zones: ["."]))
        let block = ServerBlockEngine(before: [cache], forwarder: try forwarder(".", upstream: "u"), after: [])
        let listener = try engine([(".", block)])
        let first = try query("www.example.org.")
        var pending = try #require(forwarded(listener.decide(first, from: client)))
        #expect(listener.inFlight.current == 1, "counted in flight while forwarded")
        _ = pending.walk.start()
        let upstreamReply = try PluginTestSupport.reply(to: first, answers: [
            .address(try DNSName("www.example.org."), bytes: [192, 0, 2, 1], ttl: 300)!])
        guard case .answer(let reply) = pending.walk.replied(upstreamReply) else { Issue.record("no answer"); return }
        _ = listener.finish(pending, reply: reply)
        #expect(listener.inFlight.current == 0)

        let again = try #require(answer(listener.decide(try query("www.example.org."), from: client)),
                                 "the second ask is a cache hit, answered without forwarding")
        #expect(again.header.answerCount == 1 && again.rcode == .noError)
    }

    @Test func identicalMissesInFlightWaitForTheFirstAndGetItsReplyWithTheirOwnIDs() throws {
        let cache = CachePlugin(CacheConfiguration(ttl: 30, zones: ["."]))
        let block = ServerBlockEngine(before: [cache], forwarder: try forwarder(".", upstream: "u"), after: [])
        let listener = try engine([(".", block)])
        var leader = try #require(forwarded(listener.decide(try query("www.example.org."), from: client)))
        // The same question in another case, from four more clients, while the first is out.
        var followers: [(DNSMessage, MissCoalescer.Follower)] = []
        for id in 1...4 {
            let bytes = try query("WWW.Example.ORG.").withID(UInt16(id))
            guard case .follow(let follower) = listener.decide(bytes, from: client) else {
                Issue.record("query \(id) was not coalesced")
                return
            }
            followers.append((bytes, follower))
        }
        // Another type is another question: it goes out on its own.
        #expect(forwarded(listener.decide(try query("www.example.org.", .aaaa), from: client)) != nil)
        #expect(listener.inFlight.current == 6)

        _ = leader.walk.start()
        let upstreamReply = try PluginTestSupport.reply(to: leader.query, answers: [
            .address(try DNSName("www.example.org."), bytes: [192, 0, 2, 1], ttl: 300)!])
        guard case .answer(let reply) = leader.walk.replied(upstreamReply) else { Issue.record("no answer"); return }
        _ = listener.finish(leader, reply: reply)
        for (query, follower) in followers {
            let box = ReplyBox()
            follower.whenAnswered { box.set($0) }
            let got = try #require(box.reply)
            #expect(got.header.id == query.header.id)
            #expect(got.bytes[12..<got.questionEnd] == query.bytes[12..<query.questionEnd], "the client's own case")
            #expect(got.header.answerCount == 1)
        }
        #expect(listener.inFlight.current == 1, "only the AAAA query is still out")
        #expect(cache.coalescer.leaders == 1)
    }

    @Test func followersOfAnAbandonedQueryGetServfail() throws {
        let cache = CachePlugin(CacheConfiguration(ttl: 30, zones: ["."]))
        let block = ServerBlockEngine(before: [cache], forwarder: try forwarder(".", upstream: "u"), after: [])
        let listener = try engine([(".", block)])
        let leader = try #require(forwarded(listener.decide(try query("gone.example.org."), from: client)))
        guard case .follow(let follower) = listener.decide(try query("gone.example.org."), from: client) else {
            Issue.record("not coalesced")
            return
        }
        listener.abandon(leader)
        let box = ReplyBox()
        follower.whenAnswered { box.set($0) }
        #expect(box.reply?.rcode == .servFail)
        #expect(listener.inFlight.current == 0)
    }

    @Test func onceDrainingEveryQueryIsRefusedAndNotCounted() throws {
        let inFlight = InFlightQueries()
        let listener = try engine([(".", ServerBlockEngine(before: [], forwarder: try forwarder(".", upstream: "u"),
                                                           after: []))], inFlight: inFlight)
        inFlight.drain()
        #expect(try #require(answer(listener.decide(try query("a.example.org."), from: client))).rcode == .refused)
        #expect(inFlight.current == 0)
    }
}

/// A reply handed over from a callback.
final class ReplyBox: Sendable {
    private let stored = Mutex<DNSMessage?>(nil)
    var reply: DNSMessage? { stored.withLock { $0 } }
    func set(_ reply: DNSMessage) { stored.withLock { $0 = reply } }
}
