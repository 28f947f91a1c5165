/// Why bytes could not be read as a DNS message, or text as a domain name.
public enum DNSWireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Fewer than the 12 bytes every DNS message starts with.
    case tooShortForHeader(count: Int)
    /// More than the 65535 bytes a DNS message can have (the TCP length prefix is 16 bits).
    case messageTooLarge(count: Int)
    /// A query with more than one question; nobody answers those, so we refuse to forward them.
    case moreThanOneQuestion(count: Int)
    /// The header counts more entries in a section than the message holds.
    case sectionCountExceedsMessage(section: DNSSection, declared: Int, found: Int)
    /// A name runs past the end of the message.
    case truncatedName(offset: Int)
    /// The question's type and class run past the end of the message.
    case truncatedQuestion(offset: Int)
    /// A resource record's fixed fields or data run past the end of the message.
    case truncatedRecord(section: DNSSection, offset: Int)
    /// A label longer than 63 bytes (only possible in text; on the wire the length has 6 bits).
    case labelTooLong(length: Int)
    /// A name longer than 255 bytes in wire form.
    case nameTooLong(length: Int)
    /// A name in text with an empty label, such as "a..b", ".a" or "".
    case emptyLabel(name: String)
    /// A name in text with a backslash escape that is neither `\X` nor `\DDD` with DDD at most 255.
    case invalidEscape(name: String)
    /// A label length byte with the reserved top bits 01 (extended label) or 10.
    case badLabelType(offset: Int, byte: UInt8)
    /// A compression pointer that points into the header or past the end of the message.
    case compressionPointerOutOfRange(offset: Int, target: Int)
    /// A compression pointer that points to a later offset than its own (encoders only point backwards).
    case forwardCompressionPointer(offset: Int, target: Int)
    /// A compression pointer that points back into the part of the name already read, which would loop.
    case compressionPointerLoop(offset: Int, target: Int)
    /// A name that, after following the compression pointer at `pointer`, reads up to or past that pointer: a
    /// pointer names a prior occurrence, which ends before it.
    case compressedNameRunsPastPointer(offset: Int, pointer: Int)
    /// Two OPT pseudo-records in the additional section (RFC 6891 6.1.1 requires FORMERR).
    case multipleOPTRecords(offset: Int)
    /// An OPT pseudo-record whose owner is not the root name (RFC 6891 6.1.2).
    case optOwnerNotRoot(offset: Int)

    /// One sentence saying what was expected and what was found.
    public var description: String {
        switch self {
        case .tooShortForHeader(let count):
            "Expected at least 12 bytes for a DNS header, but the message has \(count)."
        case .messageTooLarge(let count):
            "Expected a DNS message of at most 65535 bytes, but it has \(count)."
        case .moreThanOneQuestion(let count):
            "Expected at most one question, but the header counts \(count)."
        case .sectionCountExceedsMessage(let section, let declared, let found):
            "Expected \(declared) \(section) entries as the header says, but the message ends after \(found)."
        case .truncatedName(let offset):
            "Expected a complete name at offset \(offset), but the message ends inside it."
        case .truncatedQuestion(let offset):
            "Expected the question's type and class after the name at offset \(offset), but the message ends first."
        case .truncatedRecord(let section, let offset):
            "Expected a complete \(section) record at offset \(offset), but the message ends inside it."
        case .labelTooLong(let length):
            "Expected labels of at most 63 bytes, but one has \(length)."
        case .nameTooLong(let length):
            "Expected a name of at most 255 bytes in wire form, but it has at least \(length)."
        case .emptyLabel(let name):
            "Expected non-empty labels separated by single dots, but \"\(name)\" has an empty label."
        case .invalidEscape(let name):
            "Expected escapes of the form \\X or \\DDD (at most 255), but \"\(name)\" has another."
        case .badLabelType(let offset, let byte):
            "Expected a label length or a compression pointer at offset \(offset), "
                + "but found the reserved label type 0x\(String(byte & 0xC0, radix: 16))."
        case .compressionPointerOutOfRange(let offset, let target):
            "Expected the compression pointer at offset \(offset) to point between the header and the end of "
                + "the message, but it points to \(target)."
        case .forwardCompressionPointer(let offset, let target):
            "Expected the compression pointer at offset \(offset) to point backwards, "
                + "but it points forward to \(target)."
        case .compressionPointerLoop(let offset, let target):
            "Expected the compression pointer at offset \(offset) to point before the labels already read, "
                + "but it points to \(target), which would loop."
        case .compressedNameRunsPastPointer(let offset, let pointer):
            "Expected the name at offset \(offset) to end before its compression pointer at \(pointer), "
                + "but it reads on past it."
        case .multipleOPTRecords(let offset):
            "Expected at most one OPT record, but found another at offset \(offset)."
        case .optOwnerNotRoot(let offset):
            "Expected the OPT record at offset \(offset) to be owned by the root name, but it has another owner."
        }
    }
}
