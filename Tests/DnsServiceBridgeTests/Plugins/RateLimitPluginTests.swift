import NIOCore
import NIOEmbedded
import Synchronization
import Testing
@testable import DnsServiceBridge

/// The `ratelimit` step: who counts as one client, what a limited client gets, and how the engine carries a drop.
@Suite struct RateLimitPluginTests {
    /// A clock the test moves by hand.
    private final class Clock: Sendable {
        let nanoseconds = Atomic<Int64>(1_000_000_000)
        var read: @Sendable () -> Int64 { { self.nanoseconds.load(ordering: .relaxed) } }
    }

    private let clock = Clock()

    private func plugin(_ rate: Double = 1, burst: Int = 2,
                        _ configure: (inout RateLimitConfiguration) -> Void = { _ in }) -> RateLimitPlugin {
        var configuration = RateLimitConfiguration(rate: rate, burst: burst)
        configure(&configuration)
        return RateLimitPlugin(configuration, now: clock.read)
    }

    private func udp(_ address: String) throws -> QueryClient {
        QueryClient(transport: .udp, address: try SocketAddress(ipAddress: address, port: 5300))
    }

    private struct Outcome: Equatable {
        var passed = 0
        var refused = 0
        var dropped = 0

        init(_ passed: Int, _ refused: Int, _ dropped: Int) {
            (self.passed, self.refused, self.dropped) = (passed, refused, dropped)
        }
    }

    /// How many of `count` queries from `client` pass, and what the others get.
    private func run(_ plugin: RateLimitPlugin, _ client: QueryClient, count: Int = 5) throws -> Outcome {
        let query = try PluginTestSupport.query("www.example.org", .a)
        var outcome = Outcome(0, 0, 0)
        for _ in 0..<count {
            switch plugin.verdict(query, from: client) {
            case .pass: outcome.passed += 1
            case .answer(let reply):
                #expect(reply.rcode == .refused && reply.header.id == query.header.id)
                outcome.refused += 1
            case .drop: outcome.dropped += 1
            }
        }
        return outcome
    }

    @Test func pastItsBurstAClientIsRefusedAndAnotherIsNot() throws {
        let limit = plugin()
        #expect(try run(limit, try udp("192.0.2.7")) == Outcome(2, 3, 0))
        #expect(try run(limit, try udp("192.0.2.8")) == Outcome(2, 3, 0))
        #expect(limit.limited.load(ordering: .relaxed) == 6)
        clock.nanoseconds.add(1_000_000_000, ordering: .relaxed)
        #expect(try run(limit, try udp("192.0.2.7")) == Outcome(1, 4, 0), "one token a second")
    }

    @Test func dropGivesNoReply() throws {
        let limit = plugin { $0.action = .drop }
        #expect(try run(limit, try udp("192.0.2.7")) == Outcome(2, 0, 3))
    }

    @Test func aPrefixIsOneClient() throws {
        let limit = plugin { $0.ipv4Prefix = 24 }
        #expect(try run(limit, try udp("192.0.2.7"), count: 1) == Outcome(1, 0, 0))
        #expect(try run(limit, try udp("192.0.2.200"), count: 3) == Outcome(1, 2, 0))
        #expect(try run(limit, try udp("192.0.3.1"), count: 1) == Outcome(1, 0, 0))
    }

    @Test func anIPv6ClientIsItsSlash56ByDefault() throws {
        let limit = plugin()
        #expect(try run(limit, try udp("2001:db8:0:1::1"), count: 1) == Outcome(1, 0, 0))
        #expect(try run(limit, try udp("2001:db8:0:ff::2"), count: 3) == Outcome(1, 2, 0))
        #expect(try run(limit, try udp("2001:db8:0:100::1"), count: 1) == Outcome(1, 0, 0), "another /56")
    }

    @Test func anIPv4MappedClientIsAnIPv4Client() throws {
        let limit = plugin { $0.ipv4Prefix = 24 }
        #expect(try run(limit, try udp("::ffff:192.0.2.7"), count: 1) == Outcome(1, 0, 0))
        #expect(try run(limit, try udp("192.0.2.9"), count: 3) == Outcome(1, 2, 0))
    }

    @Test func exemptNetworksAreNeverLimited() throws {
        let limit = plugin { $0.exempt = ["10.0.0.0/8", "2001:db8::/32"].compactMap(ClientNetwork.init) }
        #expect(try run(limit, try udp("10.1.2.3"), count: 10) == Outcome(10, 0, 0))
        #expect(try run(limit, try udp("2001:db8::53"), count: 10) == Outcome(10, 0, 0))
        #expect(try run(limit, try udp("11.1.2.3"), count: 3) == Outcome(2, 1, 0))
    }

    @Test func gRPCPeersAreLimitedByTheirAddressAndUnixPeersNotAtAll() throws {
        let limit = plugin()
        let peer = QueryClient(transport: .grpc, peer: "ipv4:127.0.0.1:40000")
        let samePeerOtherPort = QueryClient(transport: .grpc, peer: "ipv4:127.0.0.1:40001")
        #expect(try run(limit, peer, count: 1) == Outcome(1, 0, 0))
        #expect(try run(limit, samePeerOtherPort, count: 3) == Outcome(1, 2, 0))
        let encoded = QueryClient(transport: .grpc, peer: "ipv6:%5B%3A%3A1%5D:40000")
        #expect(try run(limit, encoded, count: 3) == Outcome(2, 1, 0))
        let unix = QueryClient(transport: .grpc, peer: "unix:/run/dnsgrpcd.sock")
        #expect(try run(limit, unix, count: 10) == Outcome(10, 0, 0))
        #expect(try run(limit, QueryClient(transport: .grpc, peer: nil), count: 10) == Outcome(10, 0, 0))
    }

    @Test func theEngineCountsADroppedQueryAsARequestWithNoResponse() async throws {
        let store = QueryMetricsStore()
        let limit = plugin(burst: 1) { $0.action = .drop }
        let block = ServerBlockEngine(before: [limit], forwarder: nil, after: [WhoamiPlugin()])
        let engine = ListenerEngine(routes: [ListenerEngine.Route(zone: .root, network: nil, block: block)],
                                    metrics: ServerMetrics(server: "dns://:53", store: store),
                                    inFlight: InFlightQueries())
        let query = try PluginTestSupport.query("www.example.org", .a)
        let client = try udp("192.0.2.7")
        guard case .answer = engine.decide(query, from: client) else { Issue.record("not answered"); return }
        guard case .drop = engine.decide(query, from: client) else { Issue.record("not dropped"); return }
        let text = QueryMetricsText.render(store)
        let labels = #"server="dns://:53",zone=".",view="""#
        #expect(text.contains(#"coredns_dns_requests_total{\#(labels),proto="udp",family="1",type="A"} 2"#))
        #expect(text.contains(#"coredns_dns_responses_total{\#(labels),rcode="NOERROR",plugin=""} 1"#))
        #expect(!text.contains("65535"), "no response counted for the dropped query")
        // A frontend on an event loop learns it from a failed future (TCP: nothing written; DoH: 429).
        let loop = EmbeddedEventLoop()
        let context = QueryContext(client: nil, transport: .tcp, eventLoop: loop,
                                   clientAddress: try SocketAddress(ipAddress: "192.0.2.7", port: 5300))
        await #expect(throws: QueryDropped.self) { try await engine.handle(query, context: context).get() }
    }
}
