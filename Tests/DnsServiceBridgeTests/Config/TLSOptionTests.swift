import Testing
@testable import DnsServiceBridge

/// Which TLS each upstream gets from the Corefile: CoreDNS's argument orders, forward's plaintext grpc:// default,
/// server names per block and per upstream, and where `tls` was written (for start-up errors).
@Suite struct TLSOptionTests {
    private func forwarder(_ directive: String, in directory: TemporaryDirectory) throws -> ForwardConfiguration {
        let text = ".:15353 {\n    \(directive)\n}\n"
        return try parseCorefile(text, workingDirectory: directory.path).servers[0].forwarders[0]
    }

    private func files() throws -> (TemporaryDirectory, cert: String, key: String, ca: String) {
        let directory = try TemporaryDirectory()
        return (directory, try directory.write("cert.pem"), try directory.write("key.pem"), try directory.write("ca.pem"))
    }

    @Test func forwardGRPCUpstreamIsPlaintextUnlessTLSIsAskedFor() throws {
        let (directory, _, _, ca) = try files()
        let plain = try forwarder("forward . grpc://127.0.0.1:5553", in: directory)
        #expect(plain.tlsLocation == nil)
        #expect(plain.tlsSettings(for: plain.upstreams[0]) == .insecure)

        let withCA = try forwarder("forward . grpc://127.0.0.1:5553 {\n        tls ca.pem\n    }", in: directory)
        #expect(withCA.tlsSettings(for: withCA.upstreams[0]) == TLSClientSettings(caFile: ca))
        #expect(withCA.tlsLocation == at(3))

        let bareTLS = try forwarder("forward . grpc://127.0.0.1:5553 {\n        tls\n    }", in: directory)
        #expect(bareTLS.tlsSettings(for: bareTLS.upstreams[0]) == .systemCAs)

        // A server name asks for TLS too (as CoreDNS's grpc plugin treats tls_servername).
        let named = try forwarder("forward . grpc://127.0.0.1:5553#dns.example", in: directory)
        #expect(named.tlsSettings(for: named.upstreams[0]) == TLSClientSettings(serverName: "dns.example"))
        let blockName = try forwarder("forward . grpc://127.0.0.1:5553 {\n        tls_servername dns.example\n    }",
                                      in: directory)
        #expect(blockName.tlsSettings(for: blockName.upstreams[0]) == TLSClientSettings(serverName: "dns.example"))
    }

    @Test func forwardTLSUpstreamVerifiesWithSystemCAsByDefault() throws {
        let (directory, _, _, _) = try files()
        let forward = try forwarder("forward . tls://127.0.0.1 grpc://127.0.0.1:5553", in: directory)
        #expect(forward.tlsSettings(for: forward.upstreams[0]) == .systemCAs)
        #expect(forward.tlsSettings(for: forward.upstreams[1]) == .insecure)
    }

    @Test func perUpstreamServerNamesMix() throws {
        let (directory, _, _, ca) = try files()
        let forward = try forwarder(
            "forward . tls://127.0.0.1#one.example tls://127.0.0.2:8853#two.example {\n        tls ca.pem\n    }",
            in: directory)
        #expect(forward.tlsSettings(for: forward.upstreams[0]) == TLSClientSettings(caFile: ca, serverName: "one.example"))
        #expect(forward.tlsSettings(for: forward.upstreams[1]) == TLSClientSettings(caFile: ca, serverName: "two.example"))
        #expect(forward.upstreams[1].port == 8853)
    }

    @Test func argumentOrdersFollowCoreDNS() throws {
        let (directory, cert, key, ca) = try files()
        // forward and grpc: tls CERT KEY [CA].
        let forward = try forwarder("forward . tls://127.0.0.1 {\n        tls cert.pem key.pem\n    }", in: directory)
        #expect(forward.tls == TLSClientSettings(certFile: cert, keyFile: key))
        #expect(forward.tls.variant == .clientCert)
        let grpc = try forwarder("grpc . 127.0.0.1:5553 {\n        tls cert.pem key.pem ca.pem\n    }", in: directory)
        #expect(grpc.tls == TLSClientSettings(caFile: ca, certFile: cert, keyFile: key))
        #expect(grpc.tlsLocation == at(3))
        // proxy: protocol grpc KEY CERT [CACERT].
        let proxy = try forwarder("proxy . 127.0.0.1:5553 {\n        protocol grpc key.pem cert.pem\n    }", in: directory)
        #expect(proxy.tls == TLSClientSettings(certFile: cert, keyFile: key))
        #expect(proxy.tlsLocation == at(3))
        let proxyMutual = try forwarder("proxy . 127.0.0.1:5553 {\n        protocol grpc key.pem cert.pem ca.pem\n    }",
                                        in: directory)
        #expect(proxyMutual.tls.variant == .mutual)
        #expect(proxyMutual.tls.certFile == cert && proxyMutual.tls.keyFile == key && proxyMutual.tls.caFile == ca)
    }

    @Test func serverBlockRecordsWhereTLSWasWritten() throws {
        let (directory, cert, key, ca) = try files()
        let configuration = try parseCorefile(
            "tls://.:18853 {\n    whoami\n    tls cert.pem key.pem ca.pem\n}\n", workingDirectory: directory.path)
        #expect(configuration.servers[0].tls == TLSServerSettings(certFile: cert, keyFile: key, clientCAFile: ca))
        #expect(configuration.servers[0].tlsLocation == at(3))
        #expect(configuration.servers[0].tls?.requiresClientCertificate == true)
    }
}
