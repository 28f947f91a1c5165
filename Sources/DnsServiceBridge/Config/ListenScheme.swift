/// A DNS transport scheme as CoreDNS's transport package names it, for both ends: how a server block key is
/// served, and how queries reach an upstream (as `UpstreamTransport`). Plain DNS over UDP and TCP, DNS over TLS,
/// or the gRPC DnsService; the default ports are the same at both ends.
public enum ListenScheme: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Plain DNS over UDP and TCP (towards an upstream: UDP, TCP when forced or truncated).
    case dns
    /// DNS over TLS (RFC 7858).
    case tls
    /// The gRPC DnsService.
    case grpc

    /// The port a key or a `TO` without `:PORT` gets (for keys the caller may change 53, like `-dns.port`).
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
