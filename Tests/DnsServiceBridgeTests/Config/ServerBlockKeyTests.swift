import Testing
@testable import DnsServiceBridge

@Suite struct ServerBlockKeyTests {
    private func keys(_ keyText: String, defaultPort: Int = 53) throws -> [ListenAddress] {
        try parseCorefile("\(keyText) {\n    whoami\n}\n", defaultPort: defaultPort).servers.flatMap(\.keys)
    }

    @Test func schemesZonesAndDefaultPorts() throws {
        #expect(try keys("example.ORG") == [ListenAddress(scheme: .dns, zone: "example.org.", port: 53)])
        #expect(try keys(".") == [ListenAddress(zone: ".", port: 53)])
        #expect(try keys(".:15353") == [ListenAddress(zone: ".", port: 15353)])
        #expect(try keys("dns://example.org.:15353") == [ListenAddress(zone: "example.org.", port: 15353)])
        #expect(try keys("tls://example.org grpc://example.org") == [
            ListenAddress(scheme: .tls, zone: "example.org.", port: 853),
            ListenAddress(scheme: .grpc, zone: "example.org.", port: 443),
        ])
        #expect(try keys("grpc://example.org:1443 tls://.:18853") == [
            ListenAddress(scheme: .grpc, zone: "example.org.", port: 1443),
            ListenAddress(scheme: .tls, zone: ".", port: 18853),
        ])
    }

    @Test func defaultPortOverrideAppliesToDNSKeysWithoutPort() throws {
        #expect(try keys("example.org tls://example.org example.net:5300", defaultPort: 1053) == [
            ListenAddress(scheme: .dns, zone: "example.org.", port: 1053),
            ListenAddress(scheme: .tls, zone: "example.org.", port: 853),
            ListenAddress(scheme: .dns, zone: "example.net.", port: 5300),
        ])
    }

    @Test func commaSeparatedKeysMayContinueOnTheNextLine() throws {
        #expect(try keys("example.org:15353,\nexample.net:15353") == [
            ListenAddress(zone: "example.org.", port: 15353), ListenAddress(zone: "example.net.", port: 15353),
        ])
    }

    @Test func alignedCIDRKeysBecomeReverseZones() throws {
        #expect(try keys("10.0.0.0/24") == [ListenAddress(zone: "0.0.10.in-addr.arpa.", port: 53)])
        #expect(try keys("10.0.0.0/8:15353") == [ListenAddress(zone: "10.in-addr.arpa.", port: 15353)])
        #expect(try keys("10.1.2.3/16") == [ListenAddress(zone: "1.10.in-addr.arpa.", port: 53)])
        #expect(try keys("0.0.0.0/0") == [ListenAddress(zone: "in-addr.arpa.", port: 53)])
        #expect(try keys("2001:db8::/32") == [ListenAddress(zone: "8.b.d.0.1.0.0.2.ip6.arpa.", port: 53)])
        #expect(try keys("2001:db8::/32:15353") == [ListenAddress(zone: "8.b.d.0.1.0.0.2.ip6.arpa.", port: 15353)])
    }

    @Test func unalignedCIDRKeysServeTheEnclosingZoneFilteredToTheNetwork() throws {
        let v4 = try keys("10.0.0.0/25")
        #expect(v4 == [ListenAddress(
            zone: "0.0.10.in-addr.arpa.", port: 53,
            reverseFilter: ReverseNetwork(addressBytes: [10, 0, 0, 0], prefixLength: 25))])
        #expect(v4.first?.reverseFilter?.description == "10.0.0.0/25")
        #expect(v4.first?.description == "dns://0.0.10.in-addr.arpa.:53 (in 10.0.0.0/25)")

        let upperHalf = try keys("10.0.0.200/25")
        #expect(upperHalf.first?.reverseFilter?.address == "10.0.0.128")

        let v4Wide = try keys("10.0.0.0/15")
        #expect(v4Wide.first?.zone == "10.in-addr.arpa.")
        #expect(v4Wide.first?.reverseFilter?.description == "10.0.0.0/15")

        let v6 = try keys("2001:db8::/29")
        #expect(v6.first?.zone == "b.d.0.1.0.0.2.ip6.arpa.")
        #expect(v6.first?.reverseFilter?.description == "2001:db8::/29")
    }

    @Test func reverseFilterMatchesNamesInsideTheNetwork() {
        let lowerHalf = ReverseNetwork(addressBytes: [10, 0, 0, 0], prefixLength: 25)
        #expect(lowerHalf.contains(reverseName: "5.0.0.10.in-addr.arpa."))
        #expect(lowerHalf.contains(reverseName: "127.0.0.10.IN-ADDR.ARPA"))
        #expect(!lowerHalf.contains(reverseName: "128.0.0.10.in-addr.arpa."))
        #expect(lowerHalf.contains(reverseName: "0.0.10.in-addr.arpa."))
        #expect(!lowerHalf.contains(reverseName: "5.1.0.10.in-addr.arpa."))
        #expect(!lowerHalf.contains(reverseName: "x.0.0.10.in-addr.arpa."))
        #expect(!lowerHalf.contains(reverseName: "example.org."))

        let v6 = ReverseNetwork(addressBytes: [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 12), prefixLength: 29)
        #expect(v6.contains(reverseName: "1.0.0.0.f.b.d.0.1.0.0.2.ip6.arpa."))
        #expect(v6.contains(reverseName: "8.b.d.0.1.0.0.2.ip6.arpa."))
        #expect(!v6.contains(reverseName: "0.c.d.0.1.0.0.2.ip6.arpa."))
        #expect(!v6.contains(reverseName: "7.b.d.0.1.0.0.2.ip6.arpa."))
    }

    @Test func trailingDotKeepsACIDRLiteral() throws {
        #expect(try keys("10.0.0.0/24.") == [ListenAddress(zone: "10.0.0.0/24.", port: 53)])
    }
}
