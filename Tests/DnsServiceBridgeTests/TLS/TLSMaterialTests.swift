import Foundation
import Testing
@testable import DnsServiceBridge

/// Certificate and key files: read when credentials are made (so a new server instance picks up renewed files),
/// and refused with a sentence that names the file and says what was expected.
@Suite struct TLSMaterialTests {
    /// The repository's test PKI (certs/, test-only keys).
    private static let certs = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("certs").path

    private func pki(_ name: String) -> String { Self.certs + "/" + name }

    @Test func aMatchingPairLoads() throws {
        let material = try TLSMaterial.load(certificate: pki("server.pem"), key: pki("server-key.pem"))
        #expect(material.certificates.count == 1)
        #expect(material.certificatePEM.contains("BEGIN CERTIFICATE"))
    }

    @Test func aKeyThatIsNotTheCertificatesIsRefused() {
        #expect(throws: TLSMaterialError.keyDoesNotMatch(certificate: pki("server.pem"), key: pki("client-key.pem"))) {
            try TLSMaterial.load(certificate: pki("server.pem"), key: pki("client-key.pem"))
        }
        let error = TLSMaterialError.keyDoesNotMatch(certificate: "server.pem", key: "client-key.pem")
        #expect(error.description == "private key client-key.pem does not belong to certificate server.pem; "
            + "expected the key the certificate was issued for")
    }

    @Test func missingAndMalformedFilesAreRefused() throws {
        let directory = try TemporaryDirectory()
        let text = try directory.write("notes.txt", "not a certificate\n")
        #expect(throws: TLSMaterialError.missingFile(path: directory.path + "/gone.pem", role: "certificate")) {
            try TLSMaterial.load(certificate: directory.path + "/gone.pem", key: pki("server-key.pem"))
        }
        #expect(throws: TLSMaterialError.notPEM(path: text, role: "certificate",
                                                expected: "one or more PEM CERTIFICATE blocks")) {
            try TLSMaterial.load(certificate: text, key: pki("server-key.pem"))
        }
        #expect(throws: TLSMaterialError.notPEM(path: pki("server.pem"), role: "private key",
                                                expected: "an unencrypted PEM private key")) {
            try TLSMaterial.load(certificate: pki("server.pem"), key: pki("server.pem"))
        }
        #expect(throws: TLSMaterialError.notPEM(path: text, role: "CA", expected: "one or more PEM CERTIFICATE blocks")) {
            try TLSClientSettings(caFile: text).grpcChannelSecurity()
        }
    }

    @Test func credentialsReadTheFilesAgainEachTime() throws {
        // What a reload relies on: a new ServerInstance makes new credentials, which read the files as they are now.
        let directory = try TemporaryDirectory()
        let cert = try directory.write("cert.pem", try String(contentsOfFile: pki("server.pem"), encoding: .utf8))
        let key = try directory.write("key.pem", try String(contentsOfFile: pki("server-key.pem"), encoding: .utf8))
        let settings = TLSServerSettings(certFile: cert, keyFile: key)
        let before = try settings.grpcServerSecurity()

        let renewedCert = try String(contentsOfFile: pki("client.pem"), encoding: .utf8)
        try directory.write("cert.pem", renewedCert)
        try directory.write("key.pem", try String(contentsOfFile: pki("client-key.pem"), encoding: .utf8))
        let after = try settings.grpcServerSecurity()

        #expect(before != after)
        guard case .tls(let chain, _, _) = after else {
            Issue.record("TLS settings made plaintext credentials")
            return
        }
        #expect(chain == renewedCert)
        _ = try settings.dotServerContext()
    }

    @Test func eachClientVariantMakesCredentials() throws {
        let variants = [
            TLSClientSettings.insecure,
            TLSClientSettings(caFile: pki("ca.pem")),
            TLSClientSettings(certFile: pki("client.pem"), keyFile: pki("client-key.pem")),
            TLSClientSettings(caFile: pki("ca.pem"), certFile: pki("client.pem"), keyFile: pki("client-key.pem"),
                              serverName: "localhost"),
        ]
        #expect(variants.map(\.variant) == [.insecure, .ca, .clientCert, .mutual])
        #expect(try variants[0].grpcChannelSecurity() == .insecure)
        for settings in variants.dropFirst() {
            guard case .tls(let roots, let chain, let key, let name) = try settings.grpcChannelSecurity() else {
                Issue.record("\(settings.variant) made plaintext credentials")
                continue
            }
            #expect((roots != nil) == (settings.caFile != nil))
            #expect((chain != nil && key != nil) == (settings.certFile != nil))
            #expect(name == settings.serverName)
            _ = try settings.dotClientContext()
        }
    }
}
