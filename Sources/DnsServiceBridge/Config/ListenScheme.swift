/// A DNS transport scheme as CoreDNS's transport package names it, for both ends: how a server block key is
/// served, and how queries reach an upstream (as `UpstreamTransport`). Plain DNS over UDP and TCP, DNS over TLS,
/// the gRPC DnsService, or DNS over HTTPS; the default ports are the same at both ends.
public enum ListenScheme: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Plain DNS over UDP and TCP (towards an upstream: UDP, TCP when forced or truncated).
    case dns
    /// DNS over TLS (RFC 7858).
    case tls
    /// The gRPC DnsService.
    case grpc
    /// DNS over HTTPS (RFC 8484): HTTP/2 or HTTP/1.1 over TLS, or plain HTTP/1.1 behind a proxy (a listener only).
    case https

    /// The port a key or a `TO` without `:PORT` gets (for keys the caller may change 53, like `-dns.port`).
    public var defaultPort: Int {
        switch self {
        case .dns: 53
        case .tls: 853
        case .grpc, .https: 443
        }
    }

    /// `dns`, `tls`, `grpc` or `https`.
    public var description: String { rawValue }
}
