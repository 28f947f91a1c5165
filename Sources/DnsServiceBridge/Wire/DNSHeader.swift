/// The fixed 12-byte header of a DNS message (RFC 1035 4.1.1).
public struct DNSHeader: Hashable, Sendable {
    /// The header's size on the wire.
    public static let size = 12

    /// The query ID that pairs a reply with its query.
    public var id: UInt16
    /// The raw flags word: QR, opcode, AA, TC, RD, RA, Z, AD, CD and the 4-bit RCODE.
    public var flags: UInt16
    /// QDCOUNT: entries in the question section.
    public var questionCount: UInt16
    /// ANCOUNT: records in the answer section.
    public var answerCount: UInt16
    /// NSCOUNT: records in the authority section.
    public var authorityCount: UInt16
    /// ARCOUNT: records in the additional section, the OPT pseudo-record included.
    public var additionalCount: UInt16

    /// Makes a header from its fields.
    public init(
        id: UInt16 = 0,
        flags: UInt16 = 0,
        questionCount: UInt16 = 0,
        answerCount: UInt16 = 0,
        authorityCount: UInt16 = 0,
        additionalCount: UInt16 = 0
    ) {
        self.id = id
        self.flags = flags
        self.questionCount = questionCount
        self.answerCount = answerCount
        self.authorityCount = authorityCount
        self.additionalCount = additionalCount
    }

    /// Reads the header from the first 12 bytes of a message.
    public init(bytes: [UInt8]) throws(DNSWireError) {
        try self.init(span: bytes.span)
    }

    /// Reads the header from the first 12 bytes of a message.
    init(span bytes: Span<UInt8>) throws(DNSWireError) {
        guard bytes.count >= Self.size else {
            throw .tooShortForHeader(count: bytes.count)
        }
        self.init(
            id: bytes.uint16(at: 0),
            flags: bytes.uint16(at: 2),
            questionCount: bytes.uint16(at: 4),
            answerCount: bytes.uint16(at: 6),
            authorityCount: bytes.uint16(at: 8),
            additionalCount: bytes.uint16(at: 10)
        )
    }

    /// The 12 header bytes in network byte order.
    public var bytes: [UInt8] {
        var result: [UInt8] = []
        result.reserveCapacity(Self.size)
        append(to: &result)
        return result
    }

    /// Appends the 12 header bytes.
    func append(to buffer: inout [UInt8]) {
        buffer.appendUInt16(id)
        buffer.appendUInt16(flags)
        buffer.appendUInt16(questionCount)
        buffer.appendUInt16(answerCount)
        buffer.appendUInt16(authorityCount)
        buffer.appendUInt16(additionalCount)
    }

    /// QR: the message is a response.
    public var isResponse: Bool {
        get { flag(Self.qrBit) }
        set { setFlag(Self.qrBit, newValue) }
    }

    /// The 4-bit OPCODE (0 QUERY, 4 NOTIFY, 5 UPDATE, ...).
    public var opcode: UInt8 {
        get { UInt8(truncatingIfNeeded: (flags >> 11) & 0x0F) }
        set { flags = (flags & ~0x7800) | (UInt16(newValue & 0x0F) << 11) }
    }

    /// AA: the responding server is authoritative for the answer.
    public var isAuthoritative: Bool {
        get { flag(Self.aaBit) }
        set { setFlag(Self.aaBit, newValue) }
    }

    /// TC: the message was truncated to fit the transport; retry over TCP.
    public var isTruncated: Bool {
        get { flag(Self.tcBit) }
        set { setFlag(Self.tcBit, newValue) }
    }

    /// RD: the client asks for recursion.
    public var recursionDesired: Bool {
        get { flag(Self.rdBit) }
        set { setFlag(Self.rdBit, newValue) }
    }

    /// RA: the server offers recursion.
    public var recursionAvailable: Bool {
        get { flag(Self.raBit) }
        set { setFlag(Self.raBit, newValue) }
    }

    /// AD: the data was authenticated by DNSSEC (RFC 4035).
    public var authenticData: Bool {
        get { flag(Self.adBit) }
        set { setFlag(Self.adBit, newValue) }
    }

    /// CD: the client does its own DNSSEC validation (RFC 4035).
    public var checkingDisabled: Bool {
        get { flag(Self.cdBit) }
        set { setFlag(Self.cdBit, newValue) }
    }

    /// The 4-bit header RCODE; setting keeps only the low 4 bits (the rest belongs in the OPT record).
    public var rcode: DNSResponseCode {
        get { DNSResponseCode(rawValue: flags & 0x000F) }
        set { flags = (flags & ~0x000F) | newValue.headerBits }
    }

    static let qrBit: UInt16 = 0x8000
    static let aaBit: UInt16 = 0x0400
    static let tcBit: UInt16 = 0x0200
    static let rdBit: UInt16 = 0x0100
    static let raBit: UInt16 = 0x0080
    static let adBit: UInt16 = 0x0020
    static let cdBit: UInt16 = 0x0010

    private func flag(_ bit: UInt16) -> Bool {
        flags & bit != 0
    }

    private mutating func setFlag(_ bit: UInt16, _ on: Bool) {
        if on {
            flags |= bit
        } else {
            flags &= ~bit
        }
    }
}
