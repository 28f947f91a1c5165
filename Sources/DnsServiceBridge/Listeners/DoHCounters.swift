import Metrics
import NIOHTTP1

/// CoreDNS's `coredns_https_responses_total{server, status}`: the HTTP statuses a DoH listener answered with.
struct DoHCounters: Sendable {
    let server: String
    /// The usual status, made once: a counter looked up per response showed in profiles elsewhere.
    private let ok: Counter

    init(server: String) {
        self.server = server
        ok = Counter(label: "coredns_https_responses_total", dimensions: [("server", server), ("status", "200")])
    }

    func responded(_ status: HTTPResponseStatus) {
        guard status != .ok else { return ok.increment() }
        Counter(label: "coredns_https_responses_total", dimensions: [("server", server), ("status", "\(status.code)")])
            .increment()
    }
}
