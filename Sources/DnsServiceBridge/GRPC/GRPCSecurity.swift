/// How a gRPC listener protects its connections. PEM contents, already read and checked (see `TLS/`).
public enum GRPCServerSecurity: Sendable, Equatable {
    /// Plaintext HTTP/2 (CoreDNS `grpc://` without a `tls` directive).
    case insecure
    /// TLS with this certificate chain and key; with `clientCA`, clients must present a certificate it signed.
    case tls(certificateChainPEM: String, privateKeyPEM: String, clientCAPEM: String?)
}

/// How a gRPC upstream channel protects its connection. PEM contents, already read and checked.
public enum GRPCChannelSecurity: Sendable, Equatable {
    /// Plaintext HTTP/2 (CoreDNS `insecure`).
    case insecure
    /// TLS verified with `rootsPEM` (nil: the system's CAs), presenting a client certificate when given, and
    /// verifying (and sending as SNI) `serverNameOverride` instead of the target's host when set.
    case tls(rootsPEM: String?, clientCertificateChainPEM: String?, clientPrivateKeyPEM: String?,
             serverNameOverride: String?)
}
