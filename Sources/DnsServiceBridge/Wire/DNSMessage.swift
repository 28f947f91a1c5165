/// A DNS message as it travels through the forwarder: the exact wire bytes plus what routing needs from them.
///
/// Parsing reads the header and the single question, then walks every record to find the OPT record; record
/// data is never decoded and the bytes are never re-encoded unless something (ID, truncation) changes them.
public struct DNSMessage: Sendable {
    /// The exact wire bytes.
    public let bytes: [UInt8]
    /// The parsed header; its counts match `bytes`.
    public let header: DNSHeader
    /// The only question, or nil when QDCOUNT is 0.
    public let question: DNSQuestion?
    /// The EDNS0 parameters from the OPT record in the additional section, if there is one.
    public let edns: EDNS0?

    /// Offset just after the question section (12 when there is no question); record sections start here.
    let questionEnd: Int

    /// The largest message `init(bytes:)` accepts; TCP's length prefix is 16 bits.
    public static let maxSize = 65535

    /// Parses and validates a whole message; throws on anything malformed, never traps.
    public init(bytes: [UInt8]) throws(DNSWireError) {
        guard bytes.count <= Self.maxSize else {
            throw .messageTooLarge(count: bytes.count)
        }
        let span = bytes.span
        let header = try DNSHeader(span: span)
        guard header.questionCount <= 1 else {
            throw .moreThanOneQuestion(count: Int(header.questionCount))
        }
        var offset = DNSHeader.size
        var question: DNSQuestion? = nil
        if header.questionCount == 1 {
            guard offset < bytes.count else {
                throw .sectionCountExceedsMessage(section: .question, declared: 1, found: 0)
            }
            let (name, nameEnd) = try WireNameScanner.readName(bytes, at: offset)
            guard nameEnd + 4 <= bytes.count else {
                throw .truncatedQuestion(offset: offset)
            }
            question = DNSQuestion(
                name: name,
                type: DNSRecordType(rawValue: span.uint16(at: nameEnd)),
                qclass: span.uint16(at: nameEnd + 2)
            )
            offset = nameEnd + 4
        }
        var edns: EDNS0? = nil
        var walker = RecordWalker(header: header, offset: offset)
        while let record = try walker.next(in: span) {
            // RFC 6891 only defines OPT in the additional section; elsewhere it is just an odd record to pass on.
            guard record.section == .additional, record.type == DNSRecordType.opt.rawValue else {
                continue
            }
            guard edns == nil else {
                throw .multipleOPTRecords(offset: record.start)
            }
            guard record.ownerIsRoot else {
                throw .optOwnerNotRoot(offset: record.start)
            }
            edns = EDNS0(
                optClass: span.uint16(at: record.fieldsStart + 2),
                optTTL: span.uint32(at: record.fieldsStart + 4)
            )
        }
        // Bytes after the last counted record are ignored, as miekg/dns does; they are still forwarded as is.
        self.init(bytes: bytes, header: header, question: question, edns: edns, questionEnd: offset)
    }

    // For messages built here, already known to be well formed.
    init(bytes: [UInt8], header: DNSHeader, question: DNSQuestion?, edns: EDNS0?, questionEnd: Int) {
        self.bytes = bytes
        self.header = header
        self.question = question
        self.edns = edns
        self.questionEnd = questionEnd
    }

    /// The full response code: the header's 4 bits with the OPT record's 8 extended bits above them.
    public var rcode: DNSResponseCode {
        let high = UInt16(edns?.extendedRCodeHigh ?? 0)
        return DNSResponseCode(rawValue: high << 4 | header.rcode.rawValue)
    }

    /// For a query: the largest UDP response the client accepts (512 without EDNS0, RFC 6891 6.2.5).
    public var maxUDPResponseSize: Int {
        guard let edns else {
            return 512
        }
        return max(512, Int(edns.udpPayloadSize))
    }

    /// The same message with another ID; only bytes 0-1 change.
    public func withID(_ id: UInt16) -> DNSMessage {
        var newBytes = bytes
        newBytes.setUInt16(id, at: 0)
        var newHeader = header
        newHeader.id = id
        return DNSMessage(bytes: newBytes, header: newHeader, question: question, edns: edns, questionEnd: questionEnd)
    }

    /// Whether this is a response to `query`: QR set, same ID, same question (name case-insensitively).
    public func isAnswer(to query: DNSMessage) -> Bool {
        header.isResponse && header.id == query.header.id && question == query.question
    }
}
