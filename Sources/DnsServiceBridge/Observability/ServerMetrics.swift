import NIOCore

/// CoreDNS's `coredns_dns_*` metrics for one listener (the `server` label, such as `dns://:53`), counted in the
/// `QueryMetricsStore`: a query costs a lookup in the calling thread's own series and a few atomic adds, no lock.
public final class ServerMetrics: Sendable {
    /// The `server` label.
    public let server: String
    private let store: QueryMetricsStore
    private let labels: QueryMetricsStore.LabelSet

    init(server: String, store: QueryMetricsStore) {
        self.server = server
        self.store = store
        labels = store.labels([server])
    }

    public convenience init(server: String) {
        self.init(server: server, store: .shared)
    }

    /// Types CoreDNS counts by name; every other type is counted as `other` to bound the label's values.
    static let monitoredTypes: Set<DNSRecordType> = [
        .a, .aaaa, .mx, .soa, .cname, .ptr, .txt, .ns, .srv, .ds, .dnskey, .rrsig, .nsec, .nsec3, .https, .svcb,
        DNSRecordType(rawValue: 251), DNSRecordType(rawValue: 252), DNSRecordType(rawValue: 255),  // IXFR AXFR ANY
    ]

    /// The query's type if CoreDNS counts it by name; nil when it is counted as `other`.
    static func countedType(_ query: DNSMessage) -> DNSRecordType? {
        query.question.map(\.type).flatMap { monitoredTypes.contains($0) ? $0 : nil }
    }

    /// The `type` label of a query.
    static func typeLabel(_ query: DNSMessage) -> String {
        typeLabel(counted: countedType(query)?.rawValue)
    }

    /// The `type` label of a type `countedType` gave (nil: `other`).
    static func typeLabel(counted type: UInt16?) -> String {
        type.map { DNSRecordType(rawValue: $0).description } ?? "other"
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
    func record(zone: String, query: DNSMessage, reply: DNSMessage, transport: ClientTransport, isIPv6: Bool,
                duration: TimeAmount) {
        let series = store.series(.query(server: labels, zone: zone, transport: transport, isIPv6: isIPv6,
                                         type: Self.countedType(query)?.rawValue, rcode: reply.rcode.rawValue))
        series.count.add(1)
        series.duration.observe(Int(duration.nanoseconds), bounds: QueryMetricsStore.durationBounds)
        series.requestSize.observe(query.bytes.count, bounds: QueryMetricsStore.sizeBounds)
        series.responseSize.observe(reply.bytes.count, bounds: QueryMetricsStore.sizeBounds)
        if query.edns?.dnssecOK == true { series.dnssecOK.add(1) }
    }

    /// Records a query a step dropped: a request with its duration and size, but no response.
    func recordDropped(zone: String, query: DNSMessage, transport: ClientTransport, isIPv6: Bool,
                       duration: TimeAmount) {
        let series = store.series(.query(server: labels, zone: zone, transport: transport, isIPv6: isIPv6,
                                         type: Self.countedType(query)?.rawValue, rcode: QueryMetricsStore.noReply))
        series.count.add(1)
        series.duration.observe(Int(duration.nanoseconds), bounds: QueryMetricsStore.durationBounds)
        series.requestSize.observe(query.bytes.count, bounds: QueryMetricsStore.sizeBounds)
        if query.edns?.dnssecOK == true { series.dnssecOK.add(1) }
    }
}
