import Testing
@testable import DnsServiceBridge

@Suite struct DigTextTests {
    /// A reply to `example.org. IN MX` with records of most types the text knows, names compressed.
    private static func reply() throws -> DNSMessage {
        var header = DNSHeader(id: 0x1234, questionCount: 1, answerCount: 6, authorityCount: 1, additionalCount: 1)
        header.isResponse = true
        header.recursionDesired = true
        header.recursionAvailable = true
        header.rcode = .nxDomain
        var bytes = header.bytes
        let owner = try DNSName("example.org")
        bytes += owner.wireBytes + [0, 15, 0, 1]
        let pointer: [UInt8] = [0xC0, 12]  // example.org. at the question
        func record(_ type: UInt16, ttl: UInt32 = 300, _ data: [UInt8]) {
            bytes += pointer
            bytes.appendUInt16(type)
            bytes.appendUInt16(1)
            bytes.appendUInt32(ttl)
            bytes.appendUInt16(UInt16(data.count))
            bytes += data
        }
        record(1, [192, 0, 2, 1])
        record(28, [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1])
        record(15, [0, 10, 4] + Array("mail".utf8) + pointer)
        record(16, [5] + Array("he\"y\\".utf8) + [2, 7, 65])
        record(33, [0, 1, 0, 2, 0, 53, 0])
        record(99, [1, 2, 0xAB])
        record(6, ttl: 60, [2] + Array("ns".utf8) + pointer + [4] + Array("host".utf8) + pointer
            + [0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5])
        EDNS0(udpPayloadSize: 512, dnssecOK: true).appendOPTRecord(to: &bytes)
        return try DNSMessage(bytes: bytes)
    }

    @Test func printsEverySectionAsDigDoes() throws {
        let text = try Self.reply().digText
        #expect(text == """
            ;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 4660
            ;; flags: qr rd ra; QUERY: 1, ANSWER: 6, AUTHORITY: 1, ADDITIONAL: 1

            ;; OPT PSEUDOSECTION:
            ; EDNS: version: 0, flags: do; udp: 512

            ;; QUESTION SECTION:
            ;example.org.\t\tIN\tMX

            ;; ANSWER SECTION:
            example.org.\t\t300\tIN\tA\t192.0.2.1
            example.org.\t\t300\tIN\tAAAA\t2001:db8::1
            example.org.\t\t300\tIN\tMX\t10 mail.example.org.
            example.org.\t\t300\tIN\tTXT\t"he\\"y\\\\" "\\007A"
            example.org.\t\t300\tIN\tSRV\t1 2 53 .
            example.org.\t\t300\tIN\tSPF\t\\# 3 0102AB

            ;; AUTHORITY SECTION:
            example.org.\t\t60\tIN\tSOA\tns.example.org. host.example.org. 1 2 3 4 5

            """)
    }

    @Test func dataThatDoesNotParseIsShownRaw() {
        // An A record of 3 bytes and an MX whose name runs past its data.
        #expect(RecordDataText.text(of: .a, in: [1, 2, 3], from: 0, to: 3) == "\\# 3 010203")
        #expect(RecordDataText.text(of: .mx, in: [0, 10, 4, 65], from: 0, to: 4) == "\\# 4 000A0441")
    }

    @Test func recordTypesByMnemonic() {
        #expect(DNSRecordType(mnemonic: "aaaa") == .aaaa)
        #expect(DNSRecordType(mnemonic: "HTTPS") == .https)
        #expect(DNSRecordType(mnemonic: "TYPE65534")?.rawValue == 65534)
        #expect(DNSRecordType(mnemonic: "NOTATYPE") == nil)
        #expect(DNSRecordType(mnemonic: "TYPE70000") == nil)
    }
}
