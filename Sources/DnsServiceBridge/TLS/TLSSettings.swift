/// The TLS settings of a client connection (DoT or gRPC upstream), as the Corefile gives them: file paths only.
/// Reading and checking the PEM data happens where the settings are turned into credentials.
public struct TLSClientSettings: Sendable, Hashable {
    /// The five shapes CoreDNS's `tls` arguments (and proxy's `protocol grpc` arguments) can take.
    public enum Variant: Sendable, Hashable {
        /// No TLS at all: plaintext gRPC (`protocol grpc insecure`, or the grpc plugin without `tls`).
        case insecure
        /// TLS, server verified with the system's CAs, no client certificate (`tls` with no arguments).
        case systemCAs
        /// TLS, server verified with the given CA file, no client certificate (`tls CA`).
        case ca
        /// TLS with a client certificate, server verified with the system's CAs (`tls CERT KEY`).
        case clientCert
        /// TLS with a client certificate, server verified with the given CA file (`tls CERT KEY CA`).
        case mutual
    }

    /// True for no TLS at all (gRPC `insecure`); the other fields are then unused.
    public var plaintext: Bool
    /// The CA bundle that verifies the server; nil means the system's CAs.
    public var caFile: String?
    /// The client certificate, sent when the server asks for one.
    public var certFile: String?
    /// The client certificate's private key.
    public var keyFile: String?
    /// The name to send as SNI and to verify the server certificate against; nil uses the upstream's address.
    public var serverName: String?

    /// Creates client settings; the defaults are TLS verified with the system's CAs.
    public init(
        plaintext: Bool = false, caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil,
        serverName: String? = nil
    ) {
        self.plaintext = plaintext
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.serverName = serverName
    }

    /// TLS verified with the system's CAs, no client certificate.
    public static let systemCAs = TLSClientSettings()
    /// Plaintext (no TLS).
    public static let insecure = TLSClientSettings(plaintext: true)

    /// Which of the five shapes these settings are.
    public var variant: Variant {
        if plaintext { return .insecure }
        let hasClientCertificate = certFile != nil && keyFile != nil
        switch (hasClientCertificate, caFile != nil) {
        case (true, true): return .mutual
        case (true, false): return .clientCert
        case (false, true): return .ca
        case (false, false): return .systemCAs
        }
    }

    /// The same settings with `serverName` replaced, for an upstream that names its own server.
    public func withServerName(_ name: String?) -> TLSClientSettings {
        var copy = self
        copy.serverName = name
        return copy
    }
}

/// How a TLS listener treats client certificates (CoreDNS's `tls` plugin `client_auth` option).
public enum TLSClientAuthentication: String, Sendable, Hashable, CaseIterable {
    /// Do not ask for a client certificate (the default).
    case noCert = "nocert"
    /// Ask for one, accept any or none.
    case request
    /// Require one, do not verify it.
    case require
    /// Verify one with the CA file when the client sends it.
    case verifyIfGiven = "verify_if_given"
    /// Require one and verify it with the CA file.
    case requireAndVerify = "require_and_verify"
}

/// The TLS settings of a DoT or gRPC listener (`tls CERT KEY [CA]` in a server block): file paths only.
public struct TLSServerSettings: Sendable, Hashable {
    /// The server certificate chain.
    public var certFile: String
    /// The server certificate's private key.
    public var keyFile: String
    /// The CA bundle that verifies client certificates, when given.
    public var clientCAFile: String?
    /// Whether and how to ask clients for certificates.
    public var clientAuthentication: TLSClientAuthentication

    /// Creates server settings.
    public init(
        certFile: String, keyFile: String, clientCAFile: String? = nil,
        clientAuthentication: TLSClientAuthentication = .noCert
    ) {
        self.certFile = certFile
        self.keyFile = keyFile
        self.clientCAFile = clientCAFile
        self.clientAuthentication = clientAuthentication
    }
}
