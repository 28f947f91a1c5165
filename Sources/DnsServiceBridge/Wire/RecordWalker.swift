/// Where one resource record sits in a message.
struct WireRecord {
    /// The section the record belongs to.
    var section: DNSSection
    /// Offset of the owner name, where the record starts.
    var start: Int
    /// Offset of the TYPE field, just after the owner name.
    var fieldsStart: Int
    /// Offset just after the record's data.
    var end: Int
    /// The record's TYPE.
    var type: UInt16
    /// Whether the owner name is the root (a lone zero byte, or a pointer to one).
    var ownerIsRoot: Bool
}

/// Steps through the answer, authority and additional records after the question, bounds-checking each.
///
/// Every record consumes at least 11 bytes, so a walk ends after at most `bytes.count / 11` records whatever
/// the header counts claim.
struct RecordWalker {
    private let header: DNSHeader
    private var offset: Int
    private var section = DNSSection.answer
    private var index = 0

    /// Starts at `offset`, the first byte after the question section of the message `header` heads.
    init(header: DNSHeader, offset: Int) {
        self.header = header
        self.offset = offset
    }

    /// The next record of `bytes` (the same message every call), or nil after the last one the header counts.
    mutating func next(in bytes: Span<UInt8>) throws(DNSWireError) -> WireRecord? {
        while index >= declaredCount(section) {
            guard let following = DNSSection(rawValue: section.rawValue + 1) else {
                return nil
            }
            section = following
            index = 0
        }
        let start = offset
        guard start < bytes.count else {
            throw .sectionCountExceedsMessage(section: section, declared: declaredCount(section), found: index)
        }
        let owner = try WireNameScanner.scan(bytes, at: start)
        let fieldsStart = owner.end
        // TYPE, CLASS, TTL and RDLENGTH take 10 bytes.
        guard fieldsStart + 10 <= bytes.count else {
            throw .truncatedRecord(section: section, offset: start)
        }
        let end = fieldsStart + 10 + Int(bytes.uint16(at: fieldsStart + 8))
        guard end <= bytes.count else {
            throw .truncatedRecord(section: section, offset: start)
        }
        offset = end
        index += 1
        return WireRecord(
            section: section,
            start: start,
            fieldsStart: fieldsStart,
            end: end,
            type: bytes.uint16(at: fieldsStart),
            ownerIsRoot: owner.wireLength == 1
        )
    }

    private func declaredCount(_ section: DNSSection) -> Int {
        switch section {
        case .question: Int(header.questionCount)
        case .answer: Int(header.answerCount)
        case .authority: Int(header.authorityCount)
        case .additional: Int(header.additionalCount)
        }
    }
}
