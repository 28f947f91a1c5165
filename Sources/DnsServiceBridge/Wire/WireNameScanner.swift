/// Reads possibly compressed names out of a message, bounds-checked and loop-free.
///
/// Termination: every followed pointer must land strictly before the start of the run of labels it ends, so
/// the runs' start offsets strictly decrease; a pointer into the labels already read is reported as a loop.
///
/// A pointer names a prior occurrence (RFC 1035 4.1.4): what it leads to must end before the pointer itself. So a
/// name reads no byte after its own first pointer, and rewriting the bytes after a record (an OPT record, bytes
/// after the last record) can never change or break a name before it.
enum WireNameScanner {
    /// Where a name ends in the message and what it looks like uncompressed.
    struct Extent {
        /// Offset just after the name as it sits in the message (after its terminating zero or first pointer).
        var end: Int
        /// Length of the uncompressed wire form, terminating zero included.
        var wireLength: Int
        /// Whether a compression pointer was followed (the name is not one contiguous run of bytes).
        var isCompressed: Bool
    }

    /// No encoder chains more pointers than a 255-byte name has labels; more is reported as a loop.
    static let maxPointerHops = 127

    /// Validates the name at `start` without copying it.
    static func scan(_ bytes: Span<UInt8>, at start: Int) throws(DNSWireError) -> Extent {
        var unused: [UInt8] = []
        return try walk(bytes, at: start, collecting: false, into: &unused)
    }

    /// Reads the name at `start` of `message`, following compression pointers.
    static func readName(_ message: [UInt8], at start: Int) throws(DNSWireError) -> (name: DNSName, end: Int) {
        let bytes = message.span
        var wire: [UInt8] = []
        let extent = try walk(bytes, at: start, collecting: false, into: &wire)
        if !extent.isCompressed {
            // The common case, and the only one for questions: one allocation, no second walk.
            return (DNSName(uncheckedWire: Array(message[start..<extent.end])), extent.end)
        }
        wire.reserveCapacity(extent.wireLength)
        _ = try walk(bytes, at: start, collecting: true, into: &wire)
        return (DNSName(uncheckedWire: wire), extent.end)
    }

    private static func walk(
        _ bytes: Span<UInt8>,
        at start: Int,
        collecting: Bool,
        into wire: inout [UInt8]
    ) throws(DNSWireError) -> Extent {
        let count = bytes.count
        var position = start
        var runStart = start
        var end: Int? = nil
        var wireLength = 0
        var hops = 0
        // The bytes the current run may use: up to the pointer that led to it (the message, before any).
        var limit = count
        while true {
            guard position < count else {
                throw .truncatedName(offset: start)
            }
            guard position < limit else {
                throw .compressedNameRunsPastPointer(offset: start, pointer: limit)
            }
            let length = bytes[position]
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    wireLength += 1
                    if collecting {
                        wire.append(0)
                    }
                    return Extent(end: end ?? position + 1, wireLength: wireLength, isCompressed: end != nil)
                }
                let labelEnd = position + 1 + Int(length)
                guard labelEnd <= count else {
                    throw .truncatedName(offset: start)
                }
                guard labelEnd <= limit else {
                    throw .compressedNameRunsPastPointer(offset: start, pointer: limit)
                }
                wireLength += 1 + Int(length)
                // Room must remain for the terminating zero.
                guard wireLength < 255 else {
                    throw .nameTooLong(length: wireLength + 1)
                }
                if collecting {
                    for index in position..<labelEnd {
                        wire.append(bytes[index])
                    }
                }
                position = labelEnd
            case 0xC0:
                guard position + 1 < count else {
                    throw .truncatedName(offset: start)
                }
                guard position + 2 <= limit else {
                    throw .compressedNameRunsPastPointer(offset: start, pointer: limit)
                }
                let target = Int(length & 0x3F) << 8 | Int(bytes[position + 1])
                if end == nil {
                    end = position + 2
                }
                // No encoder points into the header; refusing it keeps a copied question meaning the same thing.
                if target < DNSHeader.size || target >= count {
                    throw .compressionPointerOutOfRange(offset: position, target: target)
                }
                if target > position {
                    throw .forwardCompressionPointer(offset: position, target: target)
                }
                if target >= runStart {
                    throw .compressionPointerLoop(offset: position, target: target)
                }
                // Redundant with the rule above; a cheap second guard so a future edit cannot make this spin.
                hops += 1
                guard hops <= maxPointerHops else {
                    throw .compressionPointerLoop(offset: position, target: target)
                }
                limit = position
                position = target
                runStart = target
            default:
                throw .badLabelType(offset: position, byte: length)
            }
        }
    }
}
