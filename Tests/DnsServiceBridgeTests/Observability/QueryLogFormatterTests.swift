import NIOCore
import Testing
@testable import DnsServiceBridge

@Suite struct QueryLogFormatterTests {
    private func query(payload: UInt16? = nil, id: UInt16 = 27356) throws -> DNSMessage {
        DNSMessage.query(name: try DNSName("example.org."), type: .a, id: id, udpPayloadSize: payload)
    }

    /// The query's bytes turned into a reply with QR, AA, RD and RA set and the given rcode.
    private func reply(to query: DNSMessage, rcode: UInt8 = 0) throws -> DNSMessage {
        var bytes = query.bytes
        bytes[2] = 0x85  // QR, opcode 0, AA, RD
        bytes[3] = 0x80 | rcode  // RA
        return try DNSMessage(bytes: bytes)
    }

    @Test func commonFormatMatchesCoreDNS() throws {
        let query = try query()
        let reply = try reply(to: query)
        let client = try SocketAddress(ipAddress: "127.0.0.1", port: 38512).description
        let line = QueryLogFormatter().line(query: query, reply: reply, client: client, transport: .udp,
                                            duration: .nanoseconds(133_945))
        #expect(line == #"127.0.0.1:38512 - 27356 "A IN example.org. udp 29 false 512" NOERROR qr,aa,rd,ra 29 0.000133945s"#)
    }

    /// A query dropped with no reply (a rate limit's `action drop`), as CoreDNS's replacer prints one no plugin
    /// answered: `-` for the rcode and the flags, 0 for the size.
    @Test func aDroppedQueryHasNoRcodeFlagsOrSize() throws {
        let client = try SocketAddress(ipAddress: "127.0.0.1", port: 38512).description
        let line = QueryLogFormatter().line(query: try query(), reply: nil, client: client, transport: .udp,
                                            duration: .nanoseconds(20_000))
        #expect(line == #"127.0.0.1:38512 - 27356 "A IN example.org. udp 29 false 512" - - 0 0.00002s"#)
    }

    @Test func ipv6ClientInBracketsAndEDNSBufferSize() throws {
        let query = try query(payload: 4096, id: 7)
        let reply = try reply(to: query, rcode: 3)
        let client = try SocketAddress(ipAddress: "::1", port: 53000).description
        let line = QueryLogFormatter(format: "{common}").line(query: query, reply: reply, client: client,
                                                               transport: .tcp, duration: .milliseconds(1500))
        #expect(line == #"[::1]:53000 - 7 "A IN example.org. tcp 40 false 4096" NXDOMAIN qr,aa,rd,ra 40 1.5s"#)
    }

    @Test func combinedAndCustomFormats() throws {
        let query = try query()
        let reply = query.errorReply(.servFail)
        let combined = QueryLogFormatter(format: "{combined}").line(query: query, reply: reply, client: nil,
                                                                    transport: .grpc, duration: .seconds(2))
        #expect(combined == #"-:- - 27356 "A IN example.org. tcp 29 false 512" SERVFAIL qr,rd,ra 29 2s "0""#)
        let custom = QueryLogFormatter(format: "{name} {type} {rcode} {unknown} {>rcode").line(
            query: query, reply: reply, client: nil, transport: .udp, duration: .zero)
        #expect(custom == "example.org. A SERVFAIL - {>rcode")
    }

    @Test func durationsPrintLikeGoFloatSeconds() {
        #expect(QueryLogFormatter.seconds(.zero) == "0s")
        #expect(QueryLogFormatter.seconds(.nanoseconds(1)) == "0.000000001s")
        #expect(QueryLogFormatter.seconds(.microseconds(250)) == "0.00025s")
        #expect(QueryLogFormatter.seconds(.seconds(3) + .milliseconds(20)) == "3.02s")
    }

    @Test func responseClassesFollowCoreDNS() throws {
        let query = try query()
        #expect(QueryLogPlugin.classify(try reply(to: query)) == .denial)  // NOERROR, no answer: NODATA
        #expect(QueryLogPlugin.classify(query.errorReply(.nxDomain)) == .denial)
        #expect(QueryLogPlugin.classify(query.errorReply(.servFail)) == .error)
        #expect(QueryLogPlugin.classify(query.errorReply(.refused)) == .error)
    }
}
