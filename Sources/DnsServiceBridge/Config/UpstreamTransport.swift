/// How queries reach an upstream: plain DNS (UDP, TCP when needed), DNS over TLS, or the gRPC DnsService.
public enum UpstreamTransport: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Plain DNS over UDP, or TCP when forced or truncated.
    case dns
    /// DNS over TLS (RFC 7858).
    case tls
    /// The gRPC DnsService.
    case grpc

    /// The port a `TO` with this scheme and no port gets: 53, 853 or 443.
    public var defaultPort: Int {
        switch self {
        case .dns: 53
        case .tls: 853
        case .grpc: 443
        }
    }

    /// `dns`, `tls` or `grpc`.
    public var description: String { rawValue }
}
