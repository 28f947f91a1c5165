import Testing

@testable import DnsServiceBridge

@Suite struct DNSHeaderTests {
    @Test func parsesDigQueryHeader() throws {
        let header = try DNSHeader(bytes: WireFixtures.ednsQuery)
        #expect(header.id == 0xF7F7)
        #expect(header.flags == 0x0120)
        #expect(!header.isResponse)
        #expect(header.opcode == 0)
        #expect(!header.isAuthoritative)
        #expect(!header.isTruncated)
        #expect(header.recursionDesired)
        #expect(!header.recursionAvailable)
        #expect(header.authenticData)
        #expect(!header.checkingDisabled)
        #expect(header.rcode == .noError)
        #expect(header.questionCount == 1)
        #expect(header.answerCount == 0)
        #expect(header.authorityCount == 0)
        #expect(header.additionalCount == 1)
    }

    @Test func parsesResponseHeader() throws {
        let header = try DNSHeader(bytes: WireFixtures.response)
        #expect(header.isResponse)
        #expect(header.recursionDesired)
        #expect(header.recursionAvailable)
        #expect(header.answerCount == 6)
        #expect(header.authorityCount == 2)
        #expect(header.additionalCount == 3)
    }

    @Test func eachFlagSetterTouchesOnlyItsBit() {
        let cases: [(name: String, bit: UInt16, set: (inout DNSHeader, Bool) -> Void, get: (DNSHeader) -> Bool)] = [
            ("QR", 0x8000, { $0.isResponse = $1 }, { $0.isResponse }),
            ("AA", 0x0400, { $0.isAuthoritative = $1 }, { $0.isAuthoritative }),
            ("TC", 0x0200, { $0.isTruncated = $1 }, { $0.isTruncated }),
            ("RD", 0x0100, { $0.recursionDesired = $1 }, { $0.recursionDesired }),
            ("RA", 0x0080, { $0.recursionAvailable = $1 }, { $0.recursionAvailable }),
            ("AD", 0x0020, { $0.authenticData = $1 }, { $0.authenticData }),
            ("CD", 0x0010, { $0.checkingDisabled = $1 }, { $0.checkingDisabled }),
        ]
        for flag in cases {
            var header = DNSHeader()
            flag.set(&header, true)
            #expect(header.flags == flag.bit, "\(flag.name) set")
            #expect(flag.get(header), "\(flag.name) get")
            var full = DNSHeader(flags: 0xFFFF)
            flag.set(&full, false)
            #expect(full.flags == 0xFFFF & ~flag.bit, "\(flag.name) clear")
            #expect(!flag.get(full), "\(flag.name) get after clear")
        }
    }

    @Test func opcodeUsesBits11To14() {
        var header = DNSHeader(flags: 0x8000 | 0x0100)
        header.opcode = 5
        #expect(header.flags == 0xA900)
        #expect(header.opcode == 5)
        header.opcode = 0xFF  // only 4 bits fit
        #expect(header.flags == 0xF900)
        #expect(header.opcode == 15)
        header.opcode = 0
        #expect(header.flags == 0x8100)
    }

    @Test func rcodeKeepsOnlyTheHeaderBits() {
        var header = DNSHeader(flags: 0x8180)
        header.rcode = .refused
        #expect(header.flags == 0x8185)
        #expect(header.rcode == .refused)
        header.rcode = .badVers  // 16: all its bits belong in the OPT record
        #expect(header.flags == 0x8180)
        #expect(header.rcode == .noError)
    }

    @Test func serialisesInNetworkOrder() throws {
        let header = DNSHeader(
            id: 0x1234, flags: 0x8183, questionCount: 1, answerCount: 0x0203,
            authorityCount: 4, additionalCount: 0xFFFF
        )
        #expect(header.bytes == [0x12, 0x34, 0x81, 0x83, 0x00, 0x01, 0x02, 0x03, 0x00, 0x04, 0xFF, 0xFF])
        #expect(try DNSHeader(bytes: header.bytes) == header)
        #expect(DNSHeader.size == 12)
    }

    @Test func rejectsShortInput() {
        #expect(throws: DNSWireError.tooShortForHeader(count: 11)) {
            try DNSHeader(bytes: Array(repeating: 0, count: 11))
        }
        #expect(throws: DNSWireError.tooShortForHeader(count: 0)) {
            try DNSHeader(bytes: [])
        }
    }
}
