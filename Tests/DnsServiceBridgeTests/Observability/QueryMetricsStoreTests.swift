import Foundation
import NIOCore
import Testing
@testable import DnsServiceBridge

/// The per-query metrics: each thread counts into series of its own, a scrape sums them per label values.
@Suite struct QueryMetricsStoreTests {
    /// Runs `body` on a thread of its own and waits for it; the thread ends as a worker does.
    private func onThread(_ store: QueryMetricsStore, _ body: @escaping @Sendable () -> Void) {
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            body()
            store.threadEnds()
            done.signal()
        }
        thread.start()
        done.wait()
    }

    @Test func threadsCountApartAndAScrapeSumsThemPerLabelValues() throws {
        let store = QueryMetricsStore()
        let metrics = ServerMetrics(server: "dns://:53", store: store)
        let query = try PluginTestSupport.query("www.example.org", .a, edns: 1232, dnssecOK: true)
        let reply = query.errorReply(.nxDomain)
        for duration in [TimeAmount.microseconds(100), .milliseconds(3)] {
            onThread(store) {
                metrics.record(zone: ".", query: query, reply: reply, transport: .udp, isIPv6: false,
                               duration: duration)
            }
        }
        let text = QueryMetricsText.render(store)
        let labels = #"server="dns://:53",zone=".",view="""#
        #expect(text.contains(#"coredns_dns_requests_total{\#(labels),proto="udp",family="1",type="A"} 2"#))
        #expect(text.contains(#"coredns_dns_responses_total{\#(labels),rcode="NXDOMAIN",plugin=""} 2"#))
        #expect(text.contains(#"coredns_dns_do_requests_total{server="dns://:53",view="",zone="."} 2"#))
        // Buckets are cumulative: 100 µs falls under 0.25 ms, 3 ms under 4 ms.
        #expect(text.contains(#"coredns_dns_request_duration_seconds_bucket{\#(labels),type="A",le="0.00025"} 1"#))
        #expect(text.contains(#"coredns_dns_request_duration_seconds_bucket{\#(labels),type="A",le="0.002"} 1"#))
        #expect(text.contains(#"coredns_dns_request_duration_seconds_bucket{\#(labels),type="A",le="0.004"} 2"#))
        #expect(text.contains(#"coredns_dns_request_duration_seconds_bucket{\#(labels),type="A",le="+Inf"} 2"#))
        #expect(text.contains(#"coredns_dns_request_duration_seconds_sum{\#(labels),type="A"} 0.0031"#))
        #expect(text.contains(#"coredns_dns_request_duration_seconds_count{\#(labels),type="A"} 2"#))
        #expect(store.allSeries.count == 1, "the second thread took over the first one's series when it ended")
    }

    @Test func upstreamSeriesCarryTheirPluginsNames() {
        let store = QueryMetricsStore()
        let grpc = ForwardMetrics(plugin: "grpc", store: store).upstream("10.0.0.1:443")
        let forward = ForwardMetrics(plugin: "forward", store: store).upstream("10.0.0.2:53")
        onThread(store) {
            grpc.requestSent()
            grpc.responseReceived(rcode: .noError, duration: .milliseconds(1))
            forward.requestSent()
            forward.responseReceived(rcode: .servFail, duration: .milliseconds(1))
        }
        let text = QueryMetricsText.render(store)
        #expect(text.contains(#"coredns_grpc_requests_total{to="10.0.0.1:443"} 1"#))
        #expect(text.contains(#"coredns_grpc_request_duration_seconds_count{to="10.0.0.1:443"} 1"#), "no rcode label")
        #expect(text.contains(#"coredns_forward_responses_total{rcode="SERVFAIL",to="10.0.0.2:53"} 1"#))
        #expect(text.contains(#"coredns_forward_request_duration_seconds_count{to="10.0.0.2:53",rcode="SERVFAIL"} 1"#))
    }
}
