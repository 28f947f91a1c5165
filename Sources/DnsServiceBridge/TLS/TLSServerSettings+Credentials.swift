import NIOSSL

extension TLSServerSettings {
    /// Whether clients must present a certificate the CA signed (CoreDNS: given a CA, it is required).
    public var requiresClientCertificate: Bool {
        guard clientCAFile != nil else { return false }
        switch clientAuthentication {
        case .noCert: return true  // `tls CERT KEY CA` without client_auth: CoreDNS requires and verifies
        case .requireAndVerify, .verifyIfGiven, .require: return true
        case .request: return false
        }
    }

    /// gRPC core server credentials for these settings, with files read and checked now.
    public func grpcServerSecurity() throws(TLSMaterialError) -> GRPCServerSecurity {
        let material = try TLSMaterial.load(certificate: certFile, key: keyFile)
        let clientCA = try clientCAFile.map { file throws(TLSMaterialError) in try TLSMaterial.loadCA(file).pem }
        return .tls(certificateChainPEM: material.certificatePEM, privateKeyPEM: material.privateKeyPEM,
                    clientCAPEM: requiresClientCertificate ? clientCA : nil)
    }

    /// A NIOSSL server context for DoT listeners.
    public func dotServerContext() throws(TLSMaterialError) -> NIOSSLContext {
        try serverContext(applicationProtocols: [])
    }

    /// A NIOSSL server context for DoH listeners: ALPN offers HTTP/2 first, then HTTP/1.1.
    public func dohServerContext() throws(TLSMaterialError) -> NIOSSLContext {
        try serverContext(applicationProtocols: ["h2", "http/1.1"])
    }

    private func serverContext(applicationProtocols: [String]) throws(TLSMaterialError) -> NIOSSLContext {
        let material = try TLSMaterial.load(certificate: certFile, key: keyFile)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: material.certificates.map { .certificate($0) },
            privateKey: .privateKey(material.privateKey))
        configuration.applicationProtocols = applicationProtocols
        configuration.shutdownTimeout = TLSClientSettings.closeNotifyWait
        if requiresClientCertificate, let clientCAFile {
            configuration.trustRoots = .certificates(try TLSMaterial.loadCA(clientCAFile).certificates)
            configuration.certificateVerification = .noHostnameVerification
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw .unreadable(path: certFile, role: "TLS server", reason: "\(error)")
        }
    }
}
