import Metrics
import NIOCore

/// CoreDNS's `coredns_dns_*` metrics for one listener (the `server` label, such as `dns://:53`). Handles are
/// cached by label values, so a query costs one dictionary lookup under a lock (two with the DO bit).
public final class ServerMetrics: Sendable {
    /// The `server` label.
    public let server: String
    /// Every handle one query touches, cached together under (zone, proto, family, type, rcode): one lookup
    /// under one lock per query instead of one per metric.
    private struct Handles: Sendable {
        let requests: Counter
        let responses: Counter
        let duration: Timer
        let requestSize: Recorder
        let responseSize: Recorder
    }

    /// What one query's handles are cached under: the label values as numbers (and the zone), so a lookup
    /// hashes one short string and three integers instead of five strings.
    private struct Key: Hashable, Sendable {
        let zone: String
        let isTCP: Bool
        let isIPv6: Bool
        /// The query type, or nil when it is counted as `other`.
        let type: UInt16?
        let rcode: UInt16
    }

    private let handles = HandleCache<Key, Handles>()
    private let dnssecOK = LabelledCache<Counter>()

    /// Types CoreDNS counts by name; every other type is counted as `other` to bound the label's values.
    static let monitoredTypes: Set<DNSRecordType> = [
        .a, .aaaa, .mx, .soa, .cname, .ptr, .txt, .ns, .srv, .ds, .dnskey, .rrsig, .nsec, .nsec3, .https, .svcb,
        DNSRecordType(rawValue: 251), DNSRecordType(rawValue: 252), DNSRecordType(rawValue: 255),  // IXFR AXFR ANY
    ]

    public init(server: String) {
        self.server = server
    }

    /// The query's type if CoreDNS counts it by name; nil when it is counted as `other`.
    static func countedType(_ query: DNSMessage) -> DNSRecordType? {
        query.question.map(\.type).flatMap { monitoredTypes.contains($0) ? $0 : nil }
    }

    /// The `type` label of a query.
    static func typeLabel(_ query: DNSMessage) -> String {
        countedType(query)?.description ?? "other"
    }

    /// The `family` label: 1 for IPv4, 2 for IPv6 (CoreDNS's numbers).
    static func familyLabel(isIPv6: Bool) -> String {
        isIPv6 ? "2" : "1"
    }

    /// The `proto` label: udp or tcp, as CoreDNS reports DoT and gRPC (both run over TCP).
    static func protoLabel(_ transport: ClientTransport) -> String {
        transport == .udp ? "udp" : "tcp"
    }

    /// Records one answered query under `zone` (the server block's zone, or `dropped`).
    func record(zone: String, query: DNSMessage, reply: DNSMessage, context: QueryContext, duration: TimeAmount) {
        record(zone: zone, query: query, reply: reply, transport: context.transport, isIPv6: context.isIPv6Client,
               duration: duration)
    }

    /// The same, for a query with no context (the UDP relay's).
    func record(zone: String, query: DNSMessage, reply: DNSMessage, transport: ClientTransport, isIPv6: Bool,
                duration: TimeAmount) {
        let key = Key(zone: zone, isTCP: transport != .udp, isIPv6: isIPv6,
                      type: Self.countedType(query)?.rawValue, rcode: reply.rcode.rawValue)
        let handles = handles.get(key) {
            makeHandles(zone: zone, query: query, reply: reply, transport: transport, isIPv6: isIPv6)
        }
        handles.requests.increment()
        handles.requestSize.record(query.bytes.count)
        handles.duration.recordNanoseconds(duration.nanoseconds)
        handles.responseSize.record(reply.bytes.count)
        handles.responses.increment()
        if query.edns?.dnssecOK == true {
            dnssecOK.get(LabelValues(zone)) { [server] in
                Counter(label: "coredns_dns_do_requests_total",
                        dimensions: [("server", server), ("view", ""), ("zone", zone)])
            }.increment()
        }
    }

    private func makeHandles(zone: String, query: DNSMessage, reply: DNSMessage, transport: ClientTransport,
                             isIPv6: Bool) -> Handles {
        let proto = Self.protoLabel(transport)
        let family = Self.familyLabel(isIPv6: isIPv6)
        let type = Self.typeLabel(query)
        let rcode = reply.rcode.description
        return Handles(
            requests: Counter(label: "coredns_dns_requests_total",
                              dimensions: [("server", server), ("zone", zone), ("view", ""), ("proto", proto),
                                           ("family", family), ("type", type)]),
            responses: Counter(label: "coredns_dns_responses_total",
                               dimensions: [("server", server), ("zone", zone), ("view", ""), ("rcode", rcode),
                                            ("plugin", "")]),
            duration: Timer(label: "coredns_dns_request_duration_seconds",
                            dimensions: [("server", server), ("zone", zone), ("view", ""), ("type", type)],
                            preferredDisplayUnit: .seconds),
            requestSize: Recorder(label: "coredns_dns_request_size_bytes",
                                  dimensions: [("server", server), ("zone", zone), ("view", ""), ("proto", proto)]),
            responseSize: Recorder(label: "coredns_dns_response_size_bytes",
                                   dimensions: [("server", server), ("zone", zone), ("view", ""), ("proto", proto)]))
    }
}
