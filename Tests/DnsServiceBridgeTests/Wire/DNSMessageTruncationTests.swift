import Testing

@testable import DnsServiceBridge

@Suite struct DNSMessageTruncationTests {
    private static let opt: [UInt8] = [0x00, 0x00, 0x29, 0x04, 0xD0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]

    private func response() throws -> DNSMessage {
        try DNSMessage(bytes: WireFixtures.response)
    }

    @Test func fittingMessageIsReturnedUnchanged() throws {
        let message = try response()
        #expect(message.truncated(toFit: 216).bytes == WireFixtures.response)
        #expect(message.truncated(toFit: 4096).bytes == WireFixtures.response)
    }

    @Test func keepsWholeAnswersAndTheOPTRecord() throws {
        let cut = try response().truncated(toFit: 100)
        // 29 (header and question) + 3 A records of 16 bytes + 11 (OPT) = 88; a fourth A would make 104.
        #expect(cut.bytes.count == 88)
        #expect(cut.header.isTruncated)
        #expect(cut.header.flags == 0x8380)
        #expect(cut.header.answerCount == 3)
        #expect(cut.header.authorityCount == 0)
        #expect(cut.header.additionalCount == 1)
        #expect(Array(cut.bytes[2..<12]) == [0x83, 0x80, 0, 1, 0, 3, 0, 0, 0, 1])
        #expect(Array(cut.bytes[12..<77]) == Array(WireFixtures.response[12..<77]))
        #expect(Array(cut.bytes[77...]) == Self.opt)
        let parsed = try DNSMessage(bytes: cut.bytes)
        #expect(parsed.header == cut.header)
        #expect(parsed.edns == EDNS0(udpPayloadSize: 1232))
        #expect(cut.edns == parsed.edns)
        #expect(cut.question == parsed.question)
    }

    @Test func keepsAuthorityAfterAllAnswersAndDropsGlue() throws {
        let cut = try response().truncated(toFit: 200)
        // All answers (ends at 125), both NS records (161), then OPT: 172; the glue is dropped.
        #expect(cut.bytes.count == 172)
        #expect(cut.header.answerCount == 6)
        #expect(cut.header.authorityCount == 2)
        #expect(cut.header.additionalCount == 1)
        #expect(Array(cut.bytes[12..<161]) == Array(WireFixtures.response[12..<161]))
        #expect(Array(cut.bytes[161...]) == Self.opt)

        let oneLess = try response().truncated(toFit: 171)
        #expect(oneLess.bytes.count == 143 + 11)
        #expect(oneLess.header.answerCount == 6)
        #expect(oneLess.header.authorityCount == 1)
    }

    @Test func dropsTheOPTRecordWhenEvenItDoesNotFit() throws {
        let cut = try response().truncated(toFit: 35)
        #expect(cut.bytes.count == 29)
        #expect(Array(cut.bytes[12...]) == Array(WireFixtures.response[12..<29]))
        #expect(cut.header.questionCount == 1)
        #expect(cut.header.additionalCount == 0)
        #expect(cut.edns == nil)
        #expect(cut.header.isTruncated)
        #expect(try DNSMessage(bytes: cut.bytes).question == cut.question)
    }

    @Test func bareHeaderWhenNotEvenTheQuestionFits() throws {
        let cut = try response().truncated(toFit: 20)
        #expect(cut.bytes == [0xF7, 0xF7, 0x83, 0x80, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(cut.question == nil)
    }

    @Test func fallsBackToAnOPTRecordWithoutOptions() throws {
        // dig's query: 29 bytes, then an OPT record of 23 bytes with a cookie option. At 40 only 11 fit.
        let query = try DNSMessage(bytes: WireFixtures.ednsQuery)
        let cut = query.truncated(toFit: 40)
        #expect(cut.bytes.count == 40)
        #expect(Array(cut.bytes[29...]) == Self.opt)
        #expect(cut.edns == query.edns)
        // At 52 the whole record, cookie included, fits: nothing to do.
        #expect(query.truncated(toFit: 52).bytes == WireFixtures.ednsQuery)
    }

    @Test func everyLimitGivesAWellFormedPrefix() throws {
        let message = try response()
        for limit in 0..<216 {
            let cut = message.truncated(toFit: limit)
            #expect(cut.bytes.count <= max(limit, DNSHeader.size), "limit \(limit)")
            #expect(cut.header.isTruncated, "limit \(limit)")
            let parsed = try DNSMessage(bytes: cut.bytes)
            #expect(parsed.header == cut.header, "limit \(limit)")
            #expect(parsed.question == cut.question, "limit \(limit)")
            #expect(parsed.edns == cut.edns, "limit \(limit)")
            // Everything but the header and the OPT record is a byte-for-byte prefix of the original body.
            let body = cut.bytes[12..<(cut.bytes.count - (cut.edns == nil ? 0 : 11))]
            #expect(Array(body) == Array(WireFixtures.response[12..<(12 + body.count)]), "limit \(limit)")
        }
    }

    /// Found by `make fuzz` (dns-message): the second answer's owner is a pointer to offset 28, the last byte of the
    /// question's class, so its "name" runs on through the first answer into the records after it. Cut after the
    /// second answer, that name ran past the end and the truncated reply did not parse. Such a name is now refused
    /// when the message is read (what a pointer leads to must end before it), so no cut or rewrite can break one.
    private static let pointerIntoTheMiddle: [UInt8] = [
        0x02, 0xC2, 0x85, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x02, 0x00, 0x01, 0x07, 0x65, 0x78, 0x61,
        0x6D, 0x70, 0x6C, 0x65, 0x03, 0x6F, 0x72, 0x67, 0x00, 0x00, 0x0F, 0x00, 0x03, 0xC0, 0x0C, 0x00,
        0x0F, 0x00, 0x01, 0x00, 0x00, 0x0E, 0x10, 0x00, 0x0A, 0x00, 0x14, 0x05, 0x6D, 0x61, 0x69, 0x6C,
        0x32, 0xC0, 0x0C, 0xC0, 0x1C, 0x00, 0x0F, 0x00, 0x01, 0x00, 0x00, 0x0E, 0x10, 0x00, 0x09, 0x00,
        0x0A, 0x04, 0x6D, 0x61, 0x69, 0x6C, 0xC0, 0x0C, 0xC0, 0x0C, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00,
        0x0E, 0x10, 0x00, 0x06, 0x03, 0x6E, 0x73, 0x32, 0xC0, 0x0C, 0xC0, 0x0C, 0x00, 0x02, 0x00, 0x01,
        0x00, 0x00, 0x0E, 0x10, 0x00, 0x06, 0x03, 0x6E, 0x73, 0x31, 0xC0, 0x0C, 0x00, 0x00, 0x29, 0x20,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ]

    @Test func aNameThatRunsPastItsPointerIsRefused() {
        #expect(throws: DNSWireError.compressedNameRunsPastPointer(offset: 51, pointer: 51)) {
            try DNSMessage(bytes: Self.pointerIntoTheMiddle)
        }
    }
}
