import Testing
@testable import DnsServiceBridge

/// `client_subnet`: the ECS option (RFC 7871) made from the client's address replaces whatever the client sent.
@Suite struct ClientSubnetTests {
    /// The ECS options of a message's OPT record, as (family, source prefix, address bytes).
    private func subnets(in message: DNSMessage) throws -> [(UInt16, UInt8, [UInt8])] {
        let opt = try #require(message.recordLayout()?.optRecord)
        let bytes = message.bytes
        return message.ednsOptions(in: opt).filter { $0.code == DNSMessage.clientSubnetOption }.map { option in
            let data = Array(bytes[option.data])
            return (UInt16(data[0]) << 8 | UInt16(data[1]), data[2], Array(data[4...]))
        }
    }

    private let subnet = MeshConfiguration.ClientSubnet(ipv4Prefix: 24, ipv6Prefix: 56)

    @Test func addsAnOPTWithTheClientsNetwork() throws {
        let query = DNSMessage.query(name: try DNSName("example.org."), type: .a, id: 7)
        #expect(query.edns == nil)
        let sent = query.withClientSubnet(of: ClientIP(bytes: [192, 0, 2, 77]), subnet)
        let parsed = try DNSMessage(bytes: sent.bytes)
        #expect(parsed.edns?.udpPayloadSize == 1232)
        let options = try subnets(in: parsed)
        #expect(options.count == 1)
        #expect(options[0].0 == 1 && options[0].1 == 24 && options[0].2 == [192, 0, 2])
        // The reply to a client that sent no OPT has none.
        let reply = try DNSMessage(bytes: sent.errorReply(.servFail).bytes)
        #expect(reply.edns != nil)
        #expect(reply.mirroringEDNS(of: query).edns == nil)
        #expect(try DNSMessage(bytes: reply.mirroringEDNS(of: query).bytes).header.additionalCount == 0)
    }

    @Test func replacesASpoofedOptionAndKeepsTheOthers() throws {
        var query = DNSMessage.query(name: try DNSName("example.org."), type: .aaaa, id: 9).bytes
        // An OPT with a cookie (10) and a spoofed ECS claiming 203.0.113.0/24.
        let cookie: [UInt8] = [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]
        let spoofed: [UInt8] = [0, 8, 0, 7, 0, 1, 24, 0, 203, 0, 113]
        query += [0, 0, 41, 4, 208, 0, 0, 0, 0, 0, UInt8(cookie.count + spoofed.count)] + cookie + spoofed
        query[11] = 1  // ARCOUNT
        let message = try DNSMessage(bytes: query)
        let address: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0, 0, 0, 0, 0, 1]
        let sent = try DNSMessage(bytes: message.withClientSubnet(of: ClientIP(bytes: address), subnet).bytes)
        let options = try subnets(in: sent)
        #expect(options.count == 1)
        #expect(options[0].0 == 2 && options[0].1 == 56 && options[0].2 == [0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56])
        #expect(sent.bytes.contains(cookie), "other options stay")
        #expect(sent.edns?.udpPayloadSize == 1232)
        // No address (a unix-socket client): the spoofed option is removed and none added.
        let stripped = try DNSMessage(bytes: message.withClientSubnet(of: nil, subnet).bytes)
        #expect(try subnets(in: stripped).isEmpty)
        #expect(stripped.bytes.contains(cookie))
    }

    @Test func aSignedQueryWithoutOPTGoesAsItIs() throws {
        // A TSIG record last (owner the root, type 250, class ANY, TTL 0, no data): an OPT after it would move the
        // signature from the end, where it must be.
        var query = DNSMessage.query(name: try DNSName("example.org."), type: .a, id: 3).bytes
        query += [0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0]
        query[11] = 1  // ARCOUNT
        let message = try DNSMessage(bytes: query)
        #expect(message.withClientSubnet(of: ClientIP(bytes: [192, 0, 2, 1]), subnet).bytes == query)
    }

    /// An option whose length runs past the OPT record would hide ours inside it: it is dropped. Bytes after a
    /// query's last record are dropped too, so the OPT added to a query without one is where readers look.
    @Test func brokenOptionsAndTrailingBytesCannotHideTheOption() throws {
        var query = DNSMessage.query(name: try DNSName("example.org."), type: .a, id: 5).bytes
        let cookie: [UInt8] = [0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]
        let runaway: [UInt8] = [0, 12, 0, 40, 0, 0]  // padding that says 40 bytes and has 2
        query += [0, 0, 41, 4, 208, 0, 0, 0, 0, 0, UInt8(cookie.count + runaway.count)] + cookie + runaway
        query[11] = 1  // ARCOUNT
        let withOPT = try DNSMessage(bytes: query)
        let sent = try DNSMessage(bytes: withOPT.withClientSubnet(of: ClientIP(bytes: [192, 0, 2, 1]), subnet).bytes)
        #expect(try subnets(in: sent).count == 1)
        #expect(sent.bytes.contains(cookie))
        #expect(!sent.bytes.contains(runaway))

        let trailing = DNSMessage.query(name: try DNSName("example.org."), type: .a, id: 6).bytes + [0xde, 0xad]
        let withoutOPT = try DNSMessage(bytes: trailing)
        let added = try DNSMessage(bytes: withoutOPT.withClientSubnet(of: ClientIP(bytes: [192, 0, 2, 1]), subnet).bytes)
        #expect(try subnets(in: added).count == 1)
        #expect(!added.bytes.starts(with: trailing))
    }

    @Test func prefixBitsPastTheLengthAreCleared() throws {
        let query = DNSMessage.query(name: try DNSName("example.org."), type: .a, id: 1)
        let sent = try DNSMessage(bytes: query.withClientSubnet(
            of: ClientIP(bytes: [10, 255, 255, 255]), MeshConfiguration.ClientSubnet(ipv4Prefix: 12, ipv6Prefix: 0)).bytes)
        #expect(try subnets(in: sent)[0].2 == [10, 240])
        let hidden = try DNSMessage(bytes: query.withClientSubnet(
            of: ClientIP(bytes: [10, 255, 255, 255]), MeshConfiguration.ClientSubnet(ipv4Prefix: 0, ipv6Prefix: 0)).bytes)
        #expect(try subnets(in: hidden)[0].1 == 0 && subnets(in: hidden)[0].2.isEmpty)
    }
}
