import Foundation
import NIOSSL

/// Certificate and key files read and checked once: PEM text for gRPC core, parsed objects for NIOSSL.
/// Loading again (on reload) picks up renewed files.
struct TLSMaterial: Sendable {
    let certificatePEM: String
    let certificates: [NIOSSLCertificate]
    let privateKeyPEM: String
    let privateKey: NIOSSLPrivateKey

    /// Reads a certificate chain and its key and checks that they belong together.
    static func load(certificate certFile: String, key keyFile: String) throws(TLSMaterialError) -> TLSMaterial {
        let certificatePEM = try read(certFile, role: "certificate")
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(Array(certificatePEM.utf8))
        } catch {
            throw .notPEM(path: certFile, role: "certificate", expected: "one or more PEM CERTIFICATE blocks")
        }
        guard let leaf = certificates.first else {
            throw .notPEM(path: certFile, role: "certificate", expected: "one or more PEM CERTIFICATE blocks")
        }
        let privateKeyPEM = try read(keyFile, role: "private key")
        let privateKey: NIOSSLPrivateKey
        do {
            privateKey = try NIOSSLPrivateKey(bytes: Array(privateKeyPEM.utf8), format: .pem)
        } catch {
            throw .notPEM(path: keyFile, role: "private key", expected: "an unencrypted PEM private key")
        }
        guard keyMatches(privateKey, leaf) else {
            throw .keyDoesNotMatch(certificate: certFile, key: keyFile)
        }
        return TLSMaterial(certificatePEM: certificatePEM, certificates: certificates,
                           privateKeyPEM: privateKeyPEM, privateKey: privateKey)
    }

    /// Reads a CA bundle.
    static func loadCA(_ file: String) throws(TLSMaterialError) -> (pem: String, certificates: [NIOSSLCertificate]) {
        let pem = try read(file, role: "CA")
        guard let certificates = try? NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)), !certificates.isEmpty else {
            throw .notPEM(path: file, role: "CA", expected: "one or more PEM CERTIFICATE blocks")
        }
        return (pem, certificates)
    }

    private static func read(_ path: String, role: String) throws(TLSMaterialError) -> String {
        guard FileManager.default.fileExists(atPath: path) else { throw .missingFile(path: path, role: role) }
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, role: role, reason: "\(error.localizedDescription)")
        }
    }

    /// A key belongs to a certificate when a TLS server context accepts the pair (BoringSSL compares them).
    private static func keyMatches(_ key: NIOSSLPrivateKey, _ certificate: NIOSSLCertificate) -> Bool {
        let configuration = TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(certificate)],
                                                                     privateKey: .privateKey(key))
        return (try? NIOSSLContext(configuration: configuration)) != nil
    }
}
