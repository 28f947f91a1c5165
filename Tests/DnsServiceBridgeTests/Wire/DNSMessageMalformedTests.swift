import Testing

@testable import DnsServiceBridge

@Suite struct DNSMessageMalformedTests {
    /// A query header with the given counts.
    private static func header(qd: UInt16 = 1, an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0) -> [UInt8] {
        DNSHeader(
            id: 0xABCD, flags: 0x0100, questionCount: qd, answerCount: an, authorityCount: ns, additionalCount: ar
        ).bytes
    }

    /// A one-question query whose QNAME is `name` as given (possibly malformed), type A, class IN.
    private static func query(name: [UInt8]) -> [UInt8] {
        header() + name + typeAClassIN
    }

    /// A query for example.org (question ends at 29), the given record counts, and `records` after the question.
    private static func exampleQuery(an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0, records: [UInt8]) -> [UInt8] {
        header(an: an, ns: ns, ar: ar) + exampleOrg + typeAClassIN + records
    }

    private static let exampleOrg: [UInt8] = [7] + Array("example".utf8) + [3] + Array("org".utf8) + [0]
    private static let typeAClassIN: [UInt8] = [0, 1, 0, 1]
    /// TYPE A, CLASS IN, TTL 0, RDLENGTH 0: the fixed fields of an empty record.
    private static let emptyRecordFields: [UInt8] = [0, 1, 0, 1, 0, 0, 0, 0, 0, 0]
    private static let emptyOPT: [UInt8] = [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0]

    private func expect(
        _ bytes: [UInt8], throws error: DNSWireError, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        #expect(throws: error, sourceLocation: sourceLocation) {
            try DNSMessage(bytes: bytes)
        }
    }

    @Test func sizes() {
        expect([0, 1, 2], throws: .tooShortForHeader(count: 3))
        expect(Self.header(qd: 0) + Array(repeating: 0, count: 65524), throws: .messageTooLarge(count: 65536))
        #expect(throws: Never.self) {
            try DNSMessage(bytes: Self.header(qd: 0) + Array(repeating: 0, count: 65523))
        }
    }

    @Test func questions() {
        expect(Self.header(qd: 2) + Self.exampleOrg + Self.typeAClassIN, throws: .moreThanOneQuestion(count: 2))
        expect(Self.header(qd: 1), throws: .sectionCountExceedsMessage(section: .question, declared: 1, found: 0))
        expect(Self.header() + [7] + Array("ex".utf8), throws: .truncatedName(offset: 12))
        expect(Self.header() + [3] + Array("foo".utf8), throws: .truncatedName(offset: 12))
        expect(Self.header() + Self.exampleOrg + [0, 1, 0], throws: .truncatedQuestion(offset: 12))
        expect(Self.header() + [0xC0], throws: .truncatedName(offset: 12))
    }

    @Test func labelTypes() {
        expect(Self.query(name: [0x41, 0x00]), throws: .badLabelType(offset: 12, byte: 0x41))
        expect(Self.query(name: [0x80, 0x00]), throws: .badLabelType(offset: 12, byte: 0x80))
        expect(Self.query(name: [1, 0x61, 0x7F]), throws: .badLabelType(offset: 14, byte: 0x7F))
    }

    @Test func compressionPointers() {
        // "a" then a pointer back to the "a": reading it would never end.
        expect(Self.query(name: [1, 0x61, 0xC0, 12]), throws: .compressionPointerLoop(offset: 14, target: 12))
        expect(Self.query(name: [0xC0, 12]), throws: .compressionPointerLoop(offset: 12, target: 12))
        expect(Self.query(name: [0xC0, 14, 0xC0, 12]), throws: .forwardCompressionPointer(offset: 12, target: 14))
        expect(Self.query(name: [0xC0, 200]), throws: .compressionPointerOutOfRange(offset: 12, target: 200))
        expect(Self.query(name: [0xFF, 0xFF]), throws: .compressionPointerOutOfRange(offset: 12, target: 0x3FFF))
        // Into the header: no encoder does this, and an echoed question would change meaning.
        expect(Self.query(name: [0xC0, 4]), throws: .compressionPointerOutOfRange(offset: 12, target: 4))

        // In a record: the answer's owner points at the answer's own first label, which points back to itself.
        let loop = Self.exampleQuery(an: 1, records: [1, 0x62, 0xC0, 29] + Self.emptyRecordFields)
        expect(loop, throws: .compressionPointerLoop(offset: 31, target: 29))
        // A chain b -> example.org is fine, and so is c -> b -> example.org.
        let chain = Self.exampleQuery(
            an: 2,
            records: [1, 0x62, 0xC0, 12] + Self.emptyRecordFields + [1, 0x63, 0xC0, 29] + Self.emptyRecordFields
        )
        #expect(throws: Never.self) {
            try DNSMessage(bytes: chain)
        }
        // The second answer's owner (at 41) points back at the first answer's last TTL byte (38), a label of 3 that
        // reads on over its own pointer: what a pointer leads to must end before it.
        let overrun = Self.exampleQuery(
            an: 2, records: [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 3, 0, 0] + [0xC0, 38] + Self.emptyRecordFields)
        expect(overrun, throws: .compressedNameRunsPastPointer(offset: 41, pointer: 41))
    }

    @Test func nameLengthCountsDecompressedBytes() {
        let label63: [UInt8] = [63] + Array(repeating: 0x61, count: 63)
        let label61: [UInt8] = [61] + Array(repeating: 0x62, count: 61)
        #expect(throws: Never.self) {
            try DNSMessage(bytes: Self.query(name: label63 + label63 + label63 + label61 + [0]))
        }
        expect(Self.query(name: label63 + label63 + label63 + label63 + [0]), throws: .nameTooLong(length: 257))
        // Across a pointer: the owner's 62-byte label (63) in front of the question's 3 labels (192) and root = 256.
        let question = Self.query(name: label63 + label63 + label63 + [0])
        let owner: [UInt8] = [62] + Array(repeating: 0x63, count: 62) + [0xC0, 12]
        var message = question + owner + Self.emptyRecordFields
        message[7] = 1  // ANCOUNT
        expect(message, throws: .nameTooLong(length: 256))
    }

    @Test func countsBeyondTheBytes() throws {
        var plain = WireFixtures.plainQuery
        plain[7] = 1  // ANCOUNT 1, no answer
        expect(plain, throws: .sectionCountExceedsMessage(section: .answer, declared: 1, found: 0))
        var edns = WireFixtures.ednsQuery
        edns[11] = 2  // ARCOUNT 2, one OPT
        expect(edns, throws: .sectionCountExceedsMessage(section: .additional, declared: 2, found: 1))
        var authority = WireFixtures.plainQuery
        authority[8] = 0xFF  // NSCOUNT 65280
        expect(authority, throws: .sectionCountExceedsMessage(section: .authority, declared: 65280, found: 0))
    }

    @Test func truncatedRecords() {
        expect(
            Self.exampleQuery(an: 1, records: [0, 0, 1, 0, 1]),
            throws: .truncatedRecord(section: .answer, offset: 29)
        )
        // RDLENGTH 4 with only 2 bytes of data.
        expect(
            Self.exampleQuery(ns: 1, records: [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2]),
            throws: .truncatedRecord(section: .authority, offset: 29)
        )
        expect(Self.exampleQuery(ar: 1, records: [0x05, 0x61]), throws: .truncatedName(offset: 29))
    }

    @Test func optRecordRules() {
        let twoOPT = Self.exampleQuery(ar: 2, records: Self.emptyOPT + Self.emptyOPT)
        expect(twoOPT, throws: .multipleOPTRecords(offset: 40))
        let named = Self.exampleQuery(ar: 1, records: [0xC0, 12] + Self.emptyOPT.dropFirst())
        expect(named, throws: .optOwnerNotRoot(offset: 29))
    }

    @Test func everyErrorSaysWhatWasExpected() {
        let errors: [DNSWireError] = [
            .tooShortForHeader(count: 3), .messageTooLarge(count: 70000), .moreThanOneQuestion(count: 2),
            .sectionCountExceedsMessage(section: .answer, declared: 2, found: 1), .truncatedName(offset: 12),
            .truncatedQuestion(offset: 12), .truncatedRecord(section: .additional, offset: 40),
            .labelTooLong(length: 64), .nameTooLong(length: 256), .emptyLabel(name: "a..b"),
            .invalidEscape(name: #"\999"#), .badLabelType(offset: 12, byte: 0x41),
            .compressionPointerOutOfRange(offset: 12, target: 999), .forwardCompressionPointer(offset: 12, target: 20),
            .compressionPointerLoop(offset: 14, target: 12), .compressedNameRunsPastPointer(offset: 41, pointer: 41),
            .multipleOPTRecords(offset: 40),
            .optOwnerNotRoot(offset: 29),
        ]
        for error in errors {
            #expect(error.description.hasPrefix("Expected "), "\(error)")
            #expect(error.description.hasSuffix("."), "\(error)")
        }
        #expect(
            DNSWireError.sectionCountExceedsMessage(section: .answer, declared: 2, found: 1).description
                == "Expected 2 answer entries as the header says, but the message ends after 1."
        )
        #expect(
            DNSWireError.badLabelType(offset: 12, byte: 0x41).description
                == "Expected a label length or a compression pointer at offset 12, "
                + "but found the reserved label type 0x40."
        )
    }
}
