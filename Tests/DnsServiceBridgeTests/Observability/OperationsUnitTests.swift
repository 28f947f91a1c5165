import NIOCore
import NIOPosix
import Testing
@testable import DnsServiceBridge

@Suite struct OperationsUnitTests {
    @Test func metricLabelsFollowCoreDNS() throws {
        let a = DNSMessage.query(name: try DNSName("example.org."), type: .a, id: 1)
        let caa = DNSMessage.query(name: try DNSName("example.org."), type: DNSRecordType(rawValue: 257), id: 1)
        #expect(ServerMetrics.typeLabel(a) == "A")
        #expect(ServerMetrics.typeLabel(caa) == "other")
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        func family(_ address: SocketAddress?, name: String? = nil) -> String {
            ServerMetrics.familyLabel(isIPv6: QueryContext(client: name, transport: .udp, eventLoop: loop,
                                                           clientAddress: address).isIPv6Client)
        }
        #expect(family(try SocketAddress(ipAddress: "::1", port: 5)) == "2")
        #expect(family(try SocketAddress(ipAddress: "10.0.0.1", port: 5)) == "1")
        #expect(family(nil, name: "ipv6:%5B::1%5D:40000") == "2")
        #expect(family(nil, name: "ipv4:127.0.0.1:40000") == "1")
        #expect(family(nil) == "1")
        #expect(ServerMetrics.protoLabel(.udp) == "udp")
        #expect(ServerMetrics.protoLabel(.tls) == "tcp")
        #expect(ListenerKey(scheme: .dns, host: "", port: 53).metricsLabel == "dns://:53")
        #expect(ListenerKey(scheme: .grpc, host: "::1", port: 443).metricsLabel == "grpc://[::1]:443")
    }

    @Test func timeBucketsAreCoreDNSs() {
        #expect(PrometheusMetrics.timeBuckets.count == 16)
        #expect(PrometheusMetrics.timeBuckets.first == .microseconds(250))
        #expect(PrometheusMetrics.timeBuckets.last == .milliseconds(8192))
    }

    @Test func operationsAddressesSplit() {
        #expect(OperationsEndpoints.split(":8080")! == ("", 8080))
        #expect(OperationsEndpoints.split("localhost:9153")! == ("localhost", 9153))
        #expect(OperationsEndpoints.split("[::1]:8181")! == ("::1", 8181))
        #expect(OperationsEndpoints.split("nohost") == nil)
    }

    @Test func drainingTurnsQueriesAwayAndWaitsForThoseInFlight() async {
        let queries = InFlightQueries()
        #expect(queries.enter())
        queries.drain()
        #expect(!queries.enter())
        #expect(queries.current == 1)
        #expect(await !queries.waitUntilIdle(upTo: .milliseconds(20)))
        queries.leave()
        #expect(await queries.waitUntilIdle(upTo: .milliseconds(20)))
    }

    @Test func serviceStateReadiness() {
        let state = ServiceState()
        #expect(!state.isReady && !state.isServing)
        state.serving(readiness: { true })
        #expect(state.isReady && state.isServing)
        state.enterLameDuck()
        #expect(!state.isReady && !state.isServing && state.phase == .lameDuck)
    }

    @Test func listenersUpMeanServingButNotYetReady() {
        let state = ServiceState()
        state.listening()
        #expect(state.isServing && !state.isReady)
        state.serving(readiness: { true })
        #expect(state.isServing && state.isReady)
        state.enterLameDuck()
        state.listening()  // a reload's listeners do not bring a lame duck back
        #expect(!state.isServing && state.phase == .lameDuck)
    }
}
