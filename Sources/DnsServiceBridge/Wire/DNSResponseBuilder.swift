/// Builds a reply that a plugin answers itself: the query's ID, opcode, RD and CD and its question copied as
/// miekg/dns's `SetReply` does, records appended without name compression, and an OPT record when the query had
/// one (CoreDNS adds it the same way on the way out).
public struct DNSResponseBuilder: Sendable {
    /// The three record sections a reply can fill.
    public enum Section: Int, Sendable, CaseIterable {
        case answer, authority, additional
    }

    private let query: DNSMessage
    /// The header to send; its counts are filled in by `build()`.
    public var header: DNSHeader
    private var sections: [[DNSResourceRecord]] = [[], [], []]
    private var size: Int

    /// Starts a reply to `query` with `rcode`, the AA bit as given, no records yet.
    public init(replyingTo query: DNSMessage, rcode: DNSResponseCode = .noError, authoritative: Bool = true) {
        self.query = query
        var header = DNSHeader(id: query.header.id)
        header.isResponse = true
        header.opcode = query.header.opcode
        header.recursionDesired = query.header.recursionDesired
        header.checkingDisabled = query.header.checkingDisabled
        header.isAuthoritative = authoritative
        header.rcode = rcode
        self.header = header
        size = query.questionEnd + (query.edns == nil ? 0 : EDNS0.emptyOPTRecordSize)
    }

    /// Appends `record` to `section`. A record that would push the reply past 65535 bytes is left out and the
    /// TC bit set, since no transport could carry it.
    public mutating func append(_ record: DNSResourceRecord, to section: Section) {
        guard size + record.wireSize <= DNSMessage.maxSize, record.data.count <= Int(UInt16.max) else {
            header.isTruncated = true
            return
        }
        size += record.wireSize
        sections[section.rawValue].append(record)
    }

    /// Appends every record of `records` to `section`.
    public mutating func append(contentsOf records: [DNSResourceRecord], to section: Section) {
        for record in records { append(record, to: section) }
    }

    /// The reply as a message.
    public func build() -> DNSMessage {
        var header = header
        header.questionCount = query.question == nil ? 0 : 1
        header.answerCount = UInt16(sections[0].count)
        header.authorityCount = UInt16(sections[1].count)
        header.additionalCount = UInt16(sections[2].count + (query.edns == nil ? 0 : 1))
        var replyEDNS: EDNS0? = nil
        if let edns = query.edns {
            replyEDNS = EDNS0(replyingTo: edns, extendedRCodeHigh: header.rcode.extendedBits)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        header.append(to: &bytes)
        // Copied byte for byte: the client sees its own question, in its own case.
        bytes.append(contentsOf: query.bytes[DNSHeader.size..<query.questionEnd])
        for section in sections {
            for record in section { record.append(to: &bytes) }
        }
        replyEDNS?.appendOPTRecord(to: &bytes)
        return DNSMessage(bytes: bytes, header: header, question: query.question, edns: replyEDNS,
                          questionEnd: query.questionEnd)
    }
}
