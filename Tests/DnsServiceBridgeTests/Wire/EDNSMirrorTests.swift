import Testing
@testable import DnsServiceBridge

/// The reply's OPT mirrors the client's, as CoreDNS's SizeAndDo makes it.
@Suite struct EDNSMirrorTests {
    private static func reply(to query: DNSMessage, edns: EDNS0?) -> DNSMessage {
        var builder = DNSResponseBuilder(replyingTo: DNSMessage.query(name: query.question!.name, type: .a, id: 9,
                                                                 udpPayloadSize: edns?.udpPayloadSize,
                                                                 dnssecOK: edns?.dnssecOK ?? false))
        builder.append(DNSResourceRecord.address(query.question!.name, bytes: [192, 0, 2, 1], ttl: 60)!, to: .answer)
        return builder.build()
    }

    @Test func theUpstreamsSizeAndDOBecomeTheClients() throws {
        let query = DNSMessage.query(name: try DNSName("example.org"), type: .a, id: 9, udpPayloadSize: 512)
        let upstream = Self.reply(to: query, edns: EDNS0(udpPayloadSize: 1232, dnssecOK: true))
        let mirrored = upstream.mirroringEDNS(of: query)
        #expect(mirrored.edns == EDNS0(udpPayloadSize: 512, dnssecOK: false))
        // The bytes say so too, and nothing else moved.
        let parsed = try DNSMessage(bytes: mirrored.bytes)
        #expect(parsed.edns == mirrored.edns)
        #expect(mirrored.bytes.count == upstream.bytes.count)
        #expect(parsed.header == upstream.header)
    }

    @Test func aReplyWithoutOPTGetsTheClients() throws {
        let query = DNSMessage.query(name: try DNSName("example.org"), type: .a, id: 9, udpPayloadSize: 4096,
                                     dnssecOK: true)
        let upstream = Self.reply(to: query, edns: nil)
        let mirrored = upstream.mirroringEDNS(of: query)
        let parsed = try DNSMessage(bytes: mirrored.bytes)
        #expect(parsed.edns == EDNS0(udpPayloadSize: 4096, dnssecOK: true))
        #expect(parsed.header.additionalCount == upstream.header.additionalCount + 1)
    }

    /// Bytes after the last record belong to none: the client's OPT goes right after the records, where a reader
    /// finds it, and they are dropped.
    @Test func theClientsOPTGoesAfterTheRecordsNotAfterTrailingBytes() throws {
        let query = DNSMessage.query(name: try DNSName("example.org"), type: .a, id: 9, udpPayloadSize: 1232)
        let upstream = try DNSMessage(bytes: Self.reply(to: query, edns: nil).bytes + [0xde, 0xad])
        let mirrored = upstream.mirroringEDNS(of: query)
        let parsed = try DNSMessage(bytes: mirrored.bytes)
        #expect(parsed.edns == EDNS0(udpPayloadSize: 1232))
        #expect(mirrored.bytes.count == upstream.bytes.count - 2 + EDNS0.emptyOPTRecordSize)
    }

    /// RFC 6891 7: no OPT in the reply to a query without one, even when the upstream (or the OPT `client_subnet`
    /// added) put one there; a reply that has none is left alone.
    @Test func aQueryWithoutEDNSGetsAReplyWithoutOPT() throws {
        let query = DNSMessage.query(name: try DNSName("example.org"), type: .a, id: 9)
        let upstream = Self.reply(to: query, edns: EDNS0(udpPayloadSize: 1232))
        let mirrored = try DNSMessage(bytes: upstream.mirroringEDNS(of: query).bytes)
        #expect(mirrored.edns == nil)
        #expect(mirrored.header.additionalCount == upstream.header.additionalCount - 1)
        #expect(mirrored.bytes == Array(upstream.bytes.prefix(upstream.bytes.count - 11)).withAdditionalCount(0))
        let plain = Self.reply(to: query, edns: nil)
        #expect(plain.mirroringEDNS(of: query).bytes == plain.bytes)
    }
}

private extension Array where Element == UInt8 {
    func withAdditionalCount(_ count: UInt16) -> [UInt8] {
        var out = self
        out.setUInt16(count, at: 10)
        return out
    }
}
