import Foundation

/// Writes the store's series in Prometheus's text format (version 0.0.4) under CoreDNS's names and labels, the
/// threads' counts summed per label values.
enum QueryMetricsText {
    private struct Family {
        let name: String
        let type: String
        let help: String
        /// Label values (in `labels` order) to what they sum to.
        var samples: [[String]: Aggregate] = [:]
        let labels: [String]
    }

    /// A counter's value, or a histogram's buckets (not cumulative) and sum.
    private struct Aggregate {
        var count = 0
        var buckets: [Int] = []
        var sum = 0

        mutating func add(_ histogram: QueryMetricsStore.Histogram) {
            if buckets.isEmpty { buckets = Array(repeating: 0, count: histogram.buckets.count) }
            for (index, tally) in histogram.buckets.enumerated() { buckets[index] += tally.value }
            sum += histogram.sum.value
        }
    }

    static func render(_ store: QueryMetricsStore) -> String {
        var families: [String: Family] = [:]
        func add(_ name: String, _ type: String, _ help: String, labels: [String], values: [String],
                 _ update: (inout Aggregate) -> Void) {
            var family = families[name] ?? Family(name: name, type: type, help: help, labels: labels)
            update(&family.samples[values, default: Aggregate()])
            families[name] = family
        }
        for series in store.allSeries {
            switch series.key {
            case .query(let server, let zone, let transport, let isIPv6, let type, let rcode):
                let server = server.values[0]
                let proto = ServerMetrics.protoLabel(transport)
                let typeLabel = ServerMetrics.typeLabel(counted: type)
                let count = series.count.value
                add("coredns_dns_requests_total", "counter", "Counter of DNS requests made per zone, protocol and family.",
                    labels: ["server", "zone", "view", "proto", "family", "type"],
                    values: [server, zone, "", proto, ServerMetrics.familyLabel(isIPv6: isIPv6), typeLabel]) { $0.count += count }
                let replied = rcode != QueryMetricsStore.noReply
                if replied {
                    add("coredns_dns_responses_total", "counter", "Counter of response status codes.",
                        labels: ["server", "zone", "view", "rcode", "plugin"],
                        values: [server, zone, "", DNSResponseCode(rawValue: rcode).description, ""]) { $0.count += count }
                }
                add("coredns_dns_request_duration_seconds", "histogram", "Histogram of the time (in seconds) each request took per zone.",
                    labels: ["server", "zone", "view", "type"], values: [server, zone, "", typeLabel]) {
                    $0.add(series.duration)
                }
                add("coredns_dns_request_size_bytes", "histogram", "Size of the EDNS0 UDP buffer in bytes (64K for TCP) per zone and protocol.",
                    labels: ["server", "zone", "view", "proto"], values: [server, zone, "", proto]) {
                    $0.add(series.requestSize)
                }
                if replied {
                    add("coredns_dns_response_size_bytes", "histogram", "Size of the returned response in bytes.",
                        labels: ["server", "zone", "view", "proto"], values: [server, zone, "", proto]) {
                        $0.add(series.responseSize)
                    }
                }
                let dnssecOK = series.dnssecOK.value
                if dnssecOK > 0 {
                    add("coredns_dns_do_requests_total", "counter", "Counter of DNS requests with DO bit set per zone.",
                        labels: ["server", "view", "zone"], values: [server, "", zone]) { $0.count += dnssecOK }
                }
            case .request(let upstream):
                let (plugin, to) = (upstream.values[0], upstream.values[1])
                let count = series.count.value
                add("coredns_\(plugin)_requests_total", "counter", "Counter of requests made per upstream.",
                    labels: ["to"], values: [to]) { $0.count += count }
            case .response(let upstream, let rcode):
                let (plugin, to) = (upstream.values[0], upstream.values[1])
                let code = DNSResponseCode(rawValue: rcode).description
                let count = series.count.value
                add("coredns_\(plugin)_responses_total", "counter", "Counter of responses received per upstream.",
                    labels: ["rcode", "to"], values: [code, to]) { $0.count += count }
                // The grpc plugin's histogram has no rcode label.
                let labels = plugin == "grpc" ? ["to"] : ["to", "rcode"]
                add("coredns_\(plugin)_request_duration_seconds", "histogram", "Histogram of the time each request took.",
                    labels: labels, values: plugin == "grpc" ? [to] : [to, code]) { $0.add(series.duration) }
            }
        }
        var text = ""
        for family in families.values.sorted(by: { $0.name < $1.name }) {
            text += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.type)\n"
            for (values, aggregate) in family.samples.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
                let labels = zip(family.labels, values).map { "\($0)=\"\(escaped($1))\"" }
                guard family.type == "histogram" else {
                    text += "\(family.name){\(labels.joined(separator: ","))} \(aggregate.count)\n"
                    continue
                }
                let isDuration = family.name.hasSuffix("_seconds")
                let bounds = isDuration ? QueryMetricsStore.durationBounds : QueryMetricsStore.sizeBounds
                var cumulative = 0
                for (index, count) in aggregate.buckets.enumerated() {
                    cumulative += count
                    let bound = index < bounds.count ? number(bounds[index], seconds: isDuration) : "+Inf"
                    text += "\(family.name)_bucket{\((labels + ["le=\"\(bound)\""]).joined(separator: ","))} \(cumulative)\n"
                }
                text += "\(family.name)_sum{\(labels.joined(separator: ","))} \(number(aggregate.sum, seconds: isDuration))\n"
                text += "\(family.name)_count{\(labels.joined(separator: ","))} \(cumulative)\n"
            }
        }
        return text
    }

    /// A bound or sum as Prometheus writes it: seconds from nanoseconds, or a plain number.
    private static func number(_ value: Int, seconds: Bool) -> String {
        seconds ? "\(Double(value) / 1e9)" : "\(Double(value))"
    }

    private static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
