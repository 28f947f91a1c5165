import Testing

@testable import DnsServiceBridge

@Suite struct DNSMessageParseTests {
    @Test func digQueryWithEDNS() throws {
        let message = try DNSMessage(bytes: WireFixtures.ednsQuery)
        #expect(message.bytes == WireFixtures.ednsQuery)
        #expect(message.header.id == 0xF7F7)
        #expect(message.question == DNSQuestion(name: try DNSName("example.org"), type: .a, qclass: 1))
        #expect(message.questionEnd == WireFixtures.questionEnd)
        #expect(message.edns == EDNS0(udpPayloadSize: 1232, extendedRCodeHigh: 0, version: 0, dnssecOK: false))
        #expect(message.maxUDPResponseSize == 1232)
        #expect(message.rcode == .noError)
    }

    @Test func digQueryWithoutEDNS() throws {
        let message = try DNSMessage(bytes: WireFixtures.plainQuery)
        #expect(message.header.id == 0x42DE)
        #expect(message.question?.name.description == "example.org.")
        #expect(message.question?.type == .a)
        #expect(message.edns == nil)
        #expect(message.maxUDPResponseSize == 512)
    }

    @Test func digTXTQueryKeepsTheNameCase() throws {
        let message = try DNSMessage(bytes: WireFixtures.mixedCaseTXTQuery)
        let question = try #require(message.question)
        #expect(question.name.description == "Example.ORG.")
        #expect(question.name == (try DNSName("example.org")))
        #expect(question.type == .txt)
        #expect(message.edns?.udpPayloadSize == 1232)
    }

    @Test func dnspythonResponse() throws {
        let message = try DNSMessage(bytes: WireFixtures.response)
        #expect(message.bytes.count == 216)
        #expect(message.header.isResponse)
        #expect(message.header.answerCount == 6)
        #expect(message.question?.description == "example.org. IN A")
        #expect(message.edns?.udpPayloadSize == 1232)
        #expect(message.rcode == .noError)
    }

    @Test func smallUDPSizesMeanAtLeast512() throws {
        let query = DNSMessage.query(name: .root, type: .ns, id: 1, udpPayloadSize: 100)
        #expect(query.edns?.udpPayloadSize == 100)
        #expect(query.maxUDPResponseSize == 512)
    }

    @Test func extendedRCodeCombinesHeaderAndOPTBits() throws {
        var bytes = WireFixtures.response
        bytes[3] |= 0x07  // header RCODE 7
        bytes[bytes.count - 6] = 0x02  // OPT TTL's first byte: extended RCODE high bits
        bytes[bytes.count - 4] = 0x80  // DO
        let message = try DNSMessage(bytes: bytes)
        #expect(message.header.rcode.rawValue == 7)
        #expect(message.edns == EDNS0(udpPayloadSize: 1232, extendedRCodeHigh: 2, version: 0, dnssecOK: true))
        #expect(message.rcode.rawValue == 0x27)
    }

    @Test func healthCheckQueryBytes() throws {
        let query = DNSMessage.query(name: .root, type: .ns, id: 0x1234)
        #expect(WireFixtures.hexString(query.bytes) == "123401000001000000000000" + "00" + "0002" + "0001")
        let parsed = try DNSMessage(bytes: query.bytes)
        #expect(parsed.header == query.header)
        #expect(parsed.question == query.question)
        #expect(parsed.edns == nil)
        #expect(parsed.questionEnd == query.questionEnd)
    }

    @Test func queryWithEDNSMatchesDigLayout() throws {
        let query = DNSMessage.query(
            name: try DNSName("example.org"), type: .a, id: 0xF7F7, recursionDesired: false, udpPayloadSize: 1232
        )
        // dig's query minus its AD flag and cookie option: RD off here, and an OPT with no options.
        #expect(
            WireFixtures.hexString(query.bytes)
                == "f7f700000001000000000001076578616d706c65036f72670000010001" + "00002904d0000000000000"
        )
        let parsed = try DNSMessage(bytes: query.bytes)
        #expect(parsed.edns == EDNS0(udpPayloadSize: 1232))
        #expect(parsed.header == query.header)
        #expect(!parsed.header.recursionDesired)
    }

    @Test func withIDRewritesOnlyTheFirstTwoBytes() throws {
        let original = try DNSMessage(bytes: WireFixtures.ednsQuery)
        let renumbered = original.withID(0xBEEF)
        #expect(renumbered.header.id == 0xBEEF)
        #expect(Array(renumbered.bytes[0..<2]) == [0xBE, 0xEF])
        #expect(Array(renumbered.bytes[2...]) == Array(original.bytes[2...]))
        #expect(renumbered.question == original.question)
        #expect(renumbered.edns == original.edns)
        #expect(try DNSMessage(bytes: renumbered.bytes).header == renumbered.header)
        #expect(original.bytes == WireFixtures.ednsQuery)
    }

    @Test func isAnswerNeedsQRSameIDAndSameQuestion() throws {
        let query = try DNSMessage(bytes: WireFixtures.ednsQuery)
        let response = try DNSMessage(bytes: WireFixtures.response)
        #expect(response.isAnswer(to: query))
        // The question matches case-insensitively.
        let upperQuery = DNSMessage.query(name: try DNSName("EXAMPLE.Org"), type: .a, id: 0xF7F7)
        #expect(response.isAnswer(to: upperQuery))
        // Wrong ID.
        #expect(!response.isAnswer(to: query.withID(0xF7F8)))
        #expect(!response.isAnswer(to: try DNSMessage(bytes: WireFixtures.plainQuery)))
        // Same ID, other question.
        #expect(!response.isAnswer(to: DNSMessage.query(name: try DNSName("example.org"), type: .aaaa, id: 0xF7F7)))
        #expect(!response.isAnswer(to: DNSMessage.query(name: try DNSName("example.com"), type: .a, id: 0xF7F7)))
        // A query is never an answer, even to itself.
        #expect(!query.isAnswer(to: query))
    }

    @Test func replyWithoutQuestionMatchesOnlyAQueryWithout() throws {
        let query = try DNSMessage(bytes: WireFixtures.plainQuery)
        let bare = try #require(DNSMessage.errorReply(toUnparsed: WireFixtures.plainQuery, rcode: .formErr))
        #expect(bare.question == nil)
        #expect(!bare.isAnswer(to: query))
        let questionless = try DNSMessage(bytes: [0x42, 0xDE, 0x01, 0x00] + Array(repeating: 0, count: 8))
        #expect(questionless.question == nil)
        #expect(bare.isAnswer(to: questionless))
    }

    @Test func trailingBytesAreIgnoredButKept() throws {
        let bytes = WireFixtures.plainQuery + [0xDE, 0xAD]
        let message = try DNSMessage(bytes: bytes)
        #expect(message.bytes == bytes)
        #expect(message.question?.type == .a)
    }

    @Test func optOutsideTheAdditionalSectionIsNotEDNS() throws {
        // The plain query with one answer record of type OPT: passed on, but it does not make the query EDNS0.
        var bytes = WireFixtures.plainQuery + [0x00, 0x00, 0x29, 0x10, 0x00, 0, 0, 0, 0, 0x00, 0x00]
        bytes[7] = 1
        let message = try DNSMessage(bytes: bytes)
        #expect(message.edns == nil)
        #expect(message.maxUDPResponseSize == 512)
    }
}
