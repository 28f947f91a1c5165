import Metrics

/// Metrics a gRPC bridge operator needs beyond CoreDNS's, under `dnsgrpcd_`: inputs dropped, upstream replies
/// that did not match, TLS handshake failures, pooled sockets and health per upstream, gRPC statuses returned.
enum BridgeMetrics {
    /// Copies the listeners' drop counters into the registry.
    static func collectListenerCounters(_ counters: ListenerCounters = .shared,
                                        into collectors: MetricsCollectors = .shared) {
        let drops: [(String, Int)] = [
            ("malformed_grpc", counters.malformedGRPC.load(ordering: .relaxed)),
            ("malformed_udp", counters.droppedUDP.load(ordering: .relaxed)),
        ]
        for (reason, total) in drops {
            collectors.copy(total, from: counters, name: "dropped.\(reason)",
                            into: Counter(label: "dnsgrpcd_listener_dropped_total", dimensions: [("reason", reason)]))
        }
        collectors.copy(counters.formErrReplies.load(ordering: .relaxed), from: counters, name: "formerr",
                        into: Counter(label: "dnsgrpcd_listener_formerr_total"))
        collectors.copy(counters.closedTCP.load(ordering: .relaxed), from: counters, name: "closedTCP",
                        into: Counter(label: "dnsgrpcd_listener_connections_closed_total"))
        collectors.copy(counters.slowFrames.load(ordering: .relaxed), from: counters, name: "slowFrames",
                        into: Counter(label: "dnsgrpcd_listener_slow_frames_total"))
        collectors.copy(counters.undrained.load(ordering: .relaxed), from: counters, name: "undrained",
                        into: Counter(label: "dnsgrpcd_listener_undrained_connections_total"))
        collectors.copy(counters.evictedIdle.load(ordering: .relaxed), from: counters, name: "evictedIdle",
                        into: Counter(label: "dnsgrpcd_listener_idle_evictions_total"))
        collectors.copy(counters.tlsHandshakeFailures.load(ordering: .relaxed), from: counters, name: "tls",
                        into: Counter(label: "dnsgrpcd_tls_handshake_failures_total",
                                      dimensions: [("side", "listener"), ("to", "")]))
    }

    /// Copies each upstream's transport counters and sets its gauges.
    static func collectUpstreams(_ forwarders: [Forwarder], into collectors: MetricsCollectors = .shared) {
        for forwarder in forwarders {
            for set in forwarder.sets {
                for upstream in set.upstreams {
                    collect(upstream, into: collectors)
                }
            }
        }
    }

    private static func collect(_ upstream: Upstream, into collectors: MetricsCollectors) {
        let to = upstream.metricsLabel
        Gauge(label: "dnsgrpcd_upstream_pooled_connections", dimensions: [("to", to)])
            .record(upstream.transport.idleConnections)
        Gauge(label: "dnsgrpcd_upstream_healthy", dimensions: [("to", to)]).record(upstream.isDown ? 0 : 1)
        Gauge(label: "dnsgrpcd_upstream_in_flight", dimensions: [("to", to)]).record(upstream.inFlight)
        Gauge(label: "dnsgrpcd_upstream_latency_seconds", dimensions: [("to", to)])
            .record(Double(upstream.latency) / 1e9)
        guard let counters = transportCounters(of: upstream.transport) else { return }
        // CoreDNS's forward connection cache, under its proto names; gRPC upstreams have one channel and no cache.
        var connectionCache: [(outcome: String, proto: String, total: Int)] = []
        switch upstream.transport {
        case is DNSUpstreamTransport:
            connectionCache = [("hits", "udp", counters.udpConnectionHits.load(ordering: .relaxed)),
                               ("misses", "udp", counters.udpConnectionMisses.load(ordering: .relaxed)),
                               ("hits", "tcp", counters.streamConnectionHits.load(ordering: .relaxed)),
                               ("misses", "tcp", counters.streamConnectionMisses.load(ordering: .relaxed))]
        case is DoTUpstreamTransport:
            connectionCache = [("hits", "tcp-tls", counters.streamConnectionHits.load(ordering: .relaxed)),
                               ("misses", "tcp-tls", counters.streamConnectionMisses.load(ordering: .relaxed))]
        case is DoHUpstreamTransport:
            connectionCache = [("hits", "https", counters.streamConnectionHits.load(ordering: .relaxed)),
                               ("misses", "https", counters.streamConnectionMisses.load(ordering: .relaxed))]
        default:
            break
        }
        for (outcome, proto, total) in connectionCache {
            collectors.copy(total, from: counters, name: "conn_cache_\(outcome)_\(proto)",
                            into: Counter(label: "coredns_forward_conn_cache_\(outcome)_total",
                                          dimensions: [("to", to), ("proto", proto)]))
        }
        collectors.copy(counters.mismatchedReplies.load(ordering: .relaxed), from: counters, name: "mismatched",
                        into: Counter(label: "dnsgrpcd_upstream_mismatched_replies_total", dimensions: [("to", to)]))
        collectors.copy(counters.unexpectedReplies.load(ordering: .relaxed), from: counters, name: "unexpected",
                        into: Counter(label: "dnsgrpcd_upstream_unexpected_replies_total", dimensions: [("to", to)]))
        collectors.copy(counters.tlsHandshakeFailures.load(ordering: .relaxed), from: counters, name: "tls",
                        into: Counter(label: "dnsgrpcd_tls_handshake_failures_total",
                                      dimensions: [("side", "upstream"), ("to", to)]))
    }

    private static func transportCounters(of transport: any UpstreamExchanger) -> TransportCounters? {
        switch transport {
        case let dns as DNSUpstreamTransport: dns.counters
        case let dot as DoTUpstreamTransport: dot.counters
        case let grpc as GRPCUpstreamTransport: grpc.counters
        case let doh as DoHUpstreamTransport: doh.counters
        default: nil
        }
    }

    /// Sets the gauge of calls each gRPC listener serves now (at most its `grpc_calls` limit) and copies the count of
    /// calls their clients gave up on.
    static func collectGRPCListeners(_ listeners: [(server: String, listener: GRPCListener)],
                                     into collectors: MetricsCollectors = .shared) {
        for (server, listener) in listeners {
            Gauge(label: "dnsgrpcd_grpc_calls_in_service", dimensions: [("server", server)])
                .record(listener.callsInFlight)
            collectors.copy(listener.callsCancelled, from: listener, name: "cancelled",
                            into: Counter(label: "dnsgrpcd_grpc_calls_cancelled_total", dimensions: [("server", server)]))
        }
    }

    /// Counts a gRPC status our listener returned (OK included).
    static func grpcStatusReturned(_ code: String, method: String) {
        // One handle per (method, code), made once: asking the factory on every call was a lock and a label
        // lookup per gRPC query.
        grpcStatuses.get(LabelValues(method, code)) {
            Counter(label: "dnsgrpcd_grpc_server_handled_total", dimensions: [("method", method), ("code", code)])
        }.increment()
    }

    private static let grpcStatuses = LabelledCache<Counter>()
}
