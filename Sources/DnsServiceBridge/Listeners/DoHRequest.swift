import Foundation
import NIOHTTP1

/// An HTTP request for `/dns-query` as RFC 8484 defines it, turned into the DNS query it carries, or the HTTP
/// status it gets instead; decided before the engine sees anything.
enum DoHRequest {
    static let path = "/dns-query"
    static let mediaType = "application/dns-message"
    /// The largest DNS message, and so the largest body or decoded `?dns=`.
    static let maxMessage = DNSMessage.maxSize

    /// Why a request gets no DNS answer: the HTTP status and a word for the body.
    struct Refusal: Error, Sendable, Equatable {
        let status: HTTPResponseStatus
        let reason: String
    }

    /// The query of a GET with `?dns=` (base64url) or a POST with an `application/dns-message` body.
    static func query(method: HTTPMethod, uri: String, contentType: String?, body: [UInt8])
        -> Result<DNSMessage, Refusal> {
        let (path, parameters) = split(uri)
        guard path == Self.path else { return .failure(Refusal(status: .notFound, reason: "not found")) }
        let wire: [UInt8]
        switch method {
        case .GET:
            guard let encoded = parameters.first(where: { $0.name == "dns" })?.value else {
                return .failure(Refusal(status: .badRequest, reason: "no dns parameter"))
            }
            guard let decoded = Base64URL.decode(encoded) else {
                return .failure(Refusal(status: .badRequest, reason: "dns parameter is not base64url"))
            }
            wire = decoded
        case .POST:
            let type = contentType?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
            guard type == mediaType else {
                return .failure(Refusal(status: .unsupportedMediaType, reason: "expected \(mediaType)"))
            }
            wire = body
        default:
            return .failure(Refusal(status: .methodNotAllowed, reason: "GET or POST"))
        }
        guard wire.count <= maxMessage else {
            return .failure(Refusal(status: .payloadTooLarge, reason: "a DNS message is at most 65535 bytes"))
        }
        guard let query = try? DNSMessage(bytes: wire), !query.header.isResponse, query.question != nil else {
            return .failure(Refusal(status: .badRequest, reason: "not a DNS query"))
        }
        return .success(query)
    }

    /// The path and the query parameters (`name=value`, not percent-decoded: base64url needs none).
    private static func split(_ uri: String) -> (path: Substring, parameters: [(name: Substring, value: Substring)]) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri[...], []) }
        let parameters = uri[uri.index(after: mark)...].split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (name: parts[0], value: parts.count > 1 ? parts[1] : "")
        }
        return (uri[..<mark], parameters)
    }
}

extension DNSMessage {
    /// RFC 8484 section 5.1: how long an HTTP cache may keep this reply, the smallest TTL of its records (OPT aside);
    /// 5 seconds for a reply without records (CoreDNS's minimal TTL), at most an hour.
    var httpMaxAge: UInt32 {
        let ttls = recordLayout()?.records.map(\.ttl) ?? []
        return min(ttls.min() ?? 5, 3600)
    }
}
