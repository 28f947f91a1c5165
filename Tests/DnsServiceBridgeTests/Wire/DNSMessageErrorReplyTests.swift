import Testing

@testable import DnsServiceBridge

@Suite struct DNSMessageErrorReplyTests {
    private static let questionHex = "076578616d706c65036f72670000010001"

    @Test func formErrEchoesQuestionAndOPT() throws {
        let query = try DNSMessage(bytes: WireFixtures.ednsQuery)
        let reply = query.errorReply(.formErr)
        // QR RD RA, RCODE 1; dig's AD bit is not echoed; OPT 1232 with no options.
        #expect(
            WireFixtures.hexString(reply.bytes)
                == "f7f781810001000000000001" + Self.questionHex + "00" + "0029" + "04d0" + "00000000" + "0000"
        )
        #expect(reply.header.isResponse)
        #expect(reply.header.recursionAvailable)
        #expect(reply.header.recursionDesired)
        #expect(!reply.header.authenticData)
        #expect(reply.header.answerCount == 0)
        #expect(reply.rcode == .formErr)
        #expect(reply.isAnswer(to: query))
        let parsed = try DNSMessage(bytes: reply.bytes)
        #expect(parsed.header == reply.header)
        #expect(parsed.question == query.question)
        #expect(parsed.edns == reply.edns)
    }

    @Test func servFailWithoutEDNSHasNoOPT() throws {
        let query = try DNSMessage(bytes: WireFixtures.plainQuery)
        let reply = query.errorReply(.servFail)
        #expect(WireFixtures.hexString(reply.bytes) == "42de81820001000000000000" + Self.questionHex)
        #expect(reply.edns == nil)
        #expect(reply.header.additionalCount == 0)
        #expect(reply.rcode == .servFail)
        #expect(reply.isAnswer(to: query))
    }

    @Test func refusedKeepsTheQuestionsCase() throws {
        let query = try DNSMessage(bytes: WireFixtures.mixedCaseTXTQuery)
        let reply = query.errorReply(.refused)
        #expect(reply.header.flags == 0x8185)
        #expect(Array(reply.bytes[12..<29]) == Array(WireFixtures.mixedCaseTXTQuery[12..<29]))
        #expect(reply.question?.name.description == "Example.ORG.")
        #expect(reply.edns == EDNS0(udpPayloadSize: 1232))
        #expect(reply.bytes.count == 29 + 11)
    }

    @Test func extendedRCodeGoesIntoTheOPTRecord() throws {
        let query = try DNSMessage(bytes: WireFixtures.ednsQuery)
        let reply = query.errorReply(.badVers)
        #expect(reply.header.rcode == .noError)
        #expect(Array(reply.bytes.suffix(11)) == [0, 0x00, 0x29, 0x04, 0xD0, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00])
        #expect(reply.rcode == .badVers)
        #expect(try DNSMessage(bytes: reply.bytes).rcode == .badVers)
    }

    /// The payload size is the client's own, whatever it is: CoreDNS's SizeAndDo mirrors it.
    @Test func copiesOpcodeCDDOAndThePayloadSize() throws {
        var query = DNSMessage.query(name: .root, type: .ns, id: 7, udpPayloadSize: 65000)
        var bytes = query.bytes
        bytes[2] |= 0x20  // opcode 4 (NOTIFY)
        bytes[3] |= 0x10  // CD
        bytes[bytes.count - 4] = 0x80  // DO
        query = try DNSMessage(bytes: bytes)
        let reply = query.errorReply(.notImp)
        #expect(reply.header.opcode == 4)
        #expect(reply.header.checkingDisabled)
        #expect(reply.header.rcode == .notImp)
        #expect(reply.edns == EDNS0(udpPayloadSize: 65000, extendedRCodeHigh: 0, version: 0, dnssecOK: true))
        let tiny = DNSMessage.query(name: .root, type: .ns, id: 7, udpPayloadSize: 100).errorReply(.servFail)
        #expect(tiny.edns?.udpPayloadSize == 100)
    }

    @Test func questionlessQueryGetsQuestionlessReply() throws {
        let query = try DNSMessage(bytes: [0, 9, 0x01, 0x00] + Array(repeating: 0, count: 8))
        let reply = query.errorReply(.refused)
        #expect(reply.bytes == [0, 9, 0x81, 0x85, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(reply.question == nil)
    }

    @Test func headerOnlyReplyToAnUnparsableQuery() throws {
        let garbage = Array(WireFixtures.ednsQuery[0..<12]) + [0x80, 0xFF]
        #expect(throws: DNSWireError.badLabelType(offset: 12, byte: 0x80)) {
            try DNSMessage(bytes: garbage)
        }
        let reply = try #require(DNSMessage.errorReply(toUnparsed: garbage, rcode: .formErr))
        #expect(reply.bytes == [0xF7, 0xF7, 0x81, 0x81, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(reply.question == nil)
        #expect(reply.edns == nil)
        #expect(try DNSMessage(bytes: reply.bytes).header == reply.header)
    }

    @Test func headerOnlyReplyKeepsTheOpcode() throws {
        // UPDATE (opcode 5) without RD.
        let update: [UInt8] = [0x12, 0x34, 0x28, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0]
        let reply = try #require(DNSMessage.errorReply(toUnparsed: update, rcode: .formErr))
        #expect(reply.header.flags == 0xA881)
        #expect(reply.header.opcode == 5)
        #expect(!reply.header.recursionDesired)
    }

    @Test func neverAnswersAResponseOrAFragment() {
        #expect(DNSMessage.errorReply(toUnparsed: Array(WireFixtures.ednsQuery[0..<11]), rcode: .formErr) == nil)
        #expect(DNSMessage.errorReply(toUnparsed: [], rcode: .formErr) == nil)
        #expect(DNSMessage.errorReply(toUnparsed: WireFixtures.response, rcode: .formErr) == nil)
    }
}
