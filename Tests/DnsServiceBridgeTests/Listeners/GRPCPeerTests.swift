import Testing
@testable import DnsServiceBridge

@Suite struct GRPCPeerTests {
    @Test func readsIPv4AndIPv6PeersInBothEncodings() {
        #expect(GRPCPeer.socketAddress("ipv4:127.0.0.1:5353")?.ipAddress == "127.0.0.1")
        #expect(GRPCPeer.socketAddress("ipv4:127.0.0.1:5353")?.port == 5353)
        #expect(GRPCPeer.socketAddress("ipv6:[::1]:44")?.ipAddress == "::1")
        #expect(GRPCPeer.socketAddress("ipv6:%5B%3A%3A1%5D:44")?.port == 44)
    }

    @Test func refusesWhatIsNoIPAddressAndPort() {
        for peer in ["", "unix:/tmp/socket", "ipv4:127.0.0.1", "ipv4:localhost:53", "ipv4:127.0.0.1:70000",
                     "ipv6:%zz:1"] {
            #expect(GRPCPeer.socketAddress(peer) == nil, "\(peer)")
        }
    }
}
