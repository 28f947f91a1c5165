import Metrics
import NIOCore

/// One upstream's `requests_total`, `responses_total` and `request_duration_seconds` handles (made by
/// `ForwardMetrics.upstream(_:)`), with the response handles cached by response code.
final class UpstreamMetrics: Sendable {
    typealias ResponseHandles = (responses: Counter, duration: Timer)

    private let requests: Counter
    private let responses = HandleCache<UInt16, ResponseHandles>()
    private let makeResponseHandles: @Sendable (DNSResponseCode) -> ResponseHandles

    init(requests: Counter, makeResponseHandles: @escaping @Sendable (DNSResponseCode) -> ResponseHandles) {
        self.requests = requests
        self.makeResponseHandles = makeResponseHandles
    }

    func requestSent() { requests.increment() }

    func responseReceived(rcode: DNSResponseCode, duration: TimeAmount) {
        let handles = responses.get(rcode.rawValue) { makeResponseHandles(rcode) }
        handles.responses.increment()
        handles.duration.recordNanoseconds(duration.nanoseconds)
    }
}
