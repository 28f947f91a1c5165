import NIOCore
import NIOSSL

extension TLSClientSettings {
    /// How long a closing TLS connection waits for the peer's close_notify (NIOSSL's default is 5 s): a connection
    /// we are done with, a client's or an upstream's, is closed after this whether the peer answers or not, so
    /// that shutdown, reloads and `dnsgrpcd query` do not wait on a peer that never sends it.
    static let closeNotifyWait = TimeAmount.milliseconds(500)

    /// gRPC core channel credentials for these settings, with files read and checked now.
    public func grpcChannelSecurity() throws(TLSMaterialError) -> GRPCChannelSecurity {
        if plaintext { return .insecure }
        let roots = try caFile.map { file throws(TLSMaterialError) in try TLSMaterial.loadCA(file).pem }
        var chain: String?
        var key: String?
        if let certFile, let keyFile {
            let material = try TLSMaterial.load(certificate: certFile, key: keyFile)
            chain = material.certificatePEM
            key = material.privateKeyPEM
        }
        return .tls(rootsPEM: roots, clientCertificateChainPEM: chain, clientPrivateKeyPEM: key,
                    serverNameOverride: serverName)
    }

    /// A NIOSSL client context for DoT upstreams; verification is always on (the server name is checked by
    /// the handler, against `serverName` or the upstream's IP address).
    public func dotClientContext() throws(TLSMaterialError) -> NIOSSLContext {
        try clientContext(applicationProtocols: [])
    }

    /// The same for DoH upstreams, offering HTTP/2 by ALPN.
    public func dohClientContext() throws(TLSMaterialError) -> NIOSSLContext {
        try clientContext(applicationProtocols: ["h2"])
    }

    private func clientContext(applicationProtocols: [String]) throws(TLSMaterialError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        configuration.applicationProtocols = applicationProtocols
        configuration.shutdownTimeout = Self.closeNotifyWait
        if let caFile {
            configuration.trustRoots = .certificates(try TLSMaterial.loadCA(caFile).certificates)
        }
        if let certFile, let keyFile {
            let material = try TLSMaterial.load(certificate: certFile, key: keyFile)
            configuration.certificateChain = material.certificates.map { .certificate($0) }
            configuration.privateKey = .privateKey(material.privateKey)
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw .unreadable(path: caFile ?? "(system CAs)", role: "TLS client", reason: "\(error)")
        }
    }
}
