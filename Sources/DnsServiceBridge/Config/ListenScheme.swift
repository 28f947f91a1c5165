/// How a server block key is served: plain DNS over UDP and TCP, DNS over TLS, or the gRPC DnsService.
public enum ListenScheme: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Plain DNS over UDP and TCP.
    case dns
    /// DNS over TLS (RFC 7858).
    case tls
    /// The gRPC DnsService.
    case grpc

    /// The port a key without `:PORT` gets (53 for dns can be changed by the caller, like `-dns.port`).
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
