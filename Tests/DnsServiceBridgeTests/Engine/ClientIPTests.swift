import NIOCore
import Testing
@testable import DnsServiceBridge

/// Client addresses as the rate limit reads them: from socket addresses, and from gRPC core's peer names without
/// allocating, which must agree with `inet_pton` on every input.
@Suite struct ClientIPTests {
    /// What inet_pton makes of `text`, in ClientIP's form.
    private func reference(_ text: String) -> ClientIP? {
        IPAddressText(text).flatMap { ClientIP(bytes: $0.bytes) }
    }

    /// What the quick reader makes of `text` as a whole address.
    private func quick(_ text: String) -> ClientIP? {
        if text.contains(":") {
            var bytes = text.utf8.makeIterator()
            return ClientIPText.ipv6(&bytes).map(ClientIP.init(value:))
        }
        var bytes = text.utf8.makeIterator()
        return ClientIPText.ipv4(&bytes).map(ClientIP.init(ipv4:))
    }

    static let corpus = [
        "0.0.0.0", "127.0.0.1", "255.255.255.255", "192.0.2.1", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4",
        "1.02.3.4", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.4 ", "", "a.b.c.d", "1.2.3.1000", "0.0.0.00",
        "::", "::1", "1::", "1::1", "2001:db8::53", "2001:0db8:0000:0000:0000:0000:0000:0053", "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4::5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
        ":1", "1:", ":::", "1:::2", "1::2::3", "12345::", "fFfF::", "g::", "::ffff:192.0.2.1", "::192.0.2.1",
        "::ffff:01.2.3.4", "::ffff:1.2.3", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::1.2.3.4:5",
        "1.2.3.4::", "::ffff:1.2.3.256", "::0:1.2.3.4", "1::2:", ":1::2", "::ffff:1234.1.1.1", "::a.1.1.1",
        "fe80::1:2:3:4:5:6", "0:0:0:0:0:0:0:0", "0000:0000:0000:0000:0000:0000:0000:0000",
    ]

    @Test(arguments: corpus)
    func agreesWithInetPton(_ text: String) {
        #expect(quick(text) == reference(text), "\(text)")
    }

    @Test func agreesWithInetPtonOnRandomText() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789abcdefABCDEFg:.".utf8)
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...20, using: &generator)
            let text = String(decoding: (0..<length).map { _ in alphabet.randomElement(using: &generator)! },
                              as: UTF8.self)
            #expect(quick(text) == reference(text), "\(text)")
        }
    }

    @Test func readsGRPCPeerNames() {
        #expect(GRPCPeer.clientIP("ipv4:127.0.0.1:40000") == reference("127.0.0.1"))
        #expect(GRPCPeer.clientIP("ipv6:[::1]:40000") == reference("::1"))
        #expect(GRPCPeer.clientIP("ipv6:%5B%3A%3A1%5D:40000") == reference("::1"))
        #expect(GRPCPeer.clientIP("ipv6:%5b2001%3adb8%3a%3a53%5d:1") == reference("2001:db8::53"))
        #expect(GRPCPeer.clientIP("ipv6:[::ffff:192.0.2.1]:40000") == reference("192.0.2.1"))
        #expect(GRPCPeer.clientIP("ipv6:[fe80::1%25eth0]:40000") == reference("fe80::1"))
        for peer in ["", "unix:/tmp/socket", "ipv4:", "ipv4:localhost:53", "ipv4:1.2.3:53", "ipv6:::1:53",
                     "ipv6:[::1", "ipv4:1.2.3.4", "ipv6:[fe80::1%25eth0", "ipv6:%zz:1", "ipv6:[%3A]:1", "ipv5:1.2.3.4:5", "ipv"] {
            #expect(GRPCPeer.clientIP(peer) == nil, "\(peer)")
        }
    }

    @Test func readsSocketAddressesWithoutText() throws {
        #expect(ClientIP(try SocketAddress(ipAddress: "192.0.2.1", port: 53)) == reference("192.0.2.1"))
        #expect(ClientIP(try SocketAddress(ipAddress: "2001:db8::53", port: 53)) == reference("2001:db8::53"))
        #expect(ClientIP(try SocketAddress(ipAddress: "::ffff:192.0.2.1", port: 53))?.isIPv4 == true)
        #expect(ClientIP(try SocketAddress(unixDomainSocketPath: "/tmp/x")) == nil)
        #expect(reference("192.0.2.1")?.description == "192.0.2.1")
        #expect(reference("2001:db8::53")?.description == "2001:db8::53")
    }

    @Test func networksContainTheirAddresses() throws {
        func address(_ text: String) throws -> ClientIP { try #require(reference(text)) }
        let v4 = try #require(ClientNetwork("10.1.2.3/8"))
        #expect(v4.description == "10.0.0.0/8")
        #expect(v4.contains(try address("10.255.0.1")))
        #expect(!v4.contains(try address("11.0.0.1")))
        #expect(v4.contains(try address("::ffff:10.0.0.1")), "a mapped address is the IPv4 client")
        #expect(!v4.contains(try address("::10.0.0.1")))
        let v6 = try #require(ClientNetwork("2001:db8::/32"))
        #expect(v6.contains(try address("2001:db8:ffff::1")))
        #expect(!v6.contains(try address("2001:db9::1")))
        let all = try #require(ClientNetwork("0.0.0.0/0"))
        #expect(all.contains(try address("203.0.113.9")))
        #expect(!all.contains(try address("::1")))
    }
}
