/// How a query reached us; it decides the upstream protocol (as CoreDNS does) and whether to truncate.
public enum ClientTransport: String, Sendable, Hashable {
    case udp, tcp, tls, grpc, https

    /// Whether the reply to this client must fit the client's UDP size (and is truncated otherwise).
    public var isSizeLimited: Bool { self == .udp }
}
