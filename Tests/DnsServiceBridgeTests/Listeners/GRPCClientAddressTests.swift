import NIOCore
import Testing
@testable import DnsServiceBridge

/// `trusted_proxies`: the client a trusted bridge names in `x-forwarded-for`, and nothing from anyone else.
@Suite struct GRPCClientAddressTests {
    private let trusted = TrustedProxies(networks: [ClientNetwork("127.0.0.0/8")!], unixPeers: true)

    private func forwarded(_ value: String?, by peer: String = "ipv4:127.0.0.1:40000") -> String? {
        GRPCClientAddress.forwarded(by: peer, trusting: trusted, metadata: { key in
            key == GRPCClientAddress.metadataKey ? value : nil
        })?.ipAddress
    }

    @Test func theFirstAddressOfATrustedPeerStandsForTheClient() {
        #expect(forwarded("127.0.5.5") == "127.0.5.5")
        #expect(forwarded(" 192.0.2.7 , 10.0.0.1") == "192.0.2.7")
        #expect(forwarded("2001:db8::1") == "2001:db8::1")
        #expect(forwarded("198.51.100.1", by: "unix:/run/bridge.sock") == "198.51.100.1")
        #expect(forwarded("fe80::1%eth0") == "fe80::1", "a link-local address's zone is read and left")
    }

    @Test func anythingElseLeavesThePeerAsTheClient() {
        #expect(forwarded(nil) == nil)
        #expect(forwarded("") == nil)
        #expect(forwarded("not-an-address") == nil)
        #expect(forwarded("192.0.2.300") == nil)
        #expect(forwarded("fe80::1%") == nil, "a zone mark with no zone")
        #expect(forwarded("192.0.2.7", by: "ipv4:192.0.2.1:40000") == nil, "an untrusted peer")
    }
}
