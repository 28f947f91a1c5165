/// One record's data in presentation form, as dig prints it: addresses, names (decompressed from the message),
/// MX, SOA, SRV and TXT fields; any other type, or data that does not parse, in RFC 3597's `\# LENGTH HEX`.
enum RecordDataText {
    /// The data of a `type` record that lies at `start..<end` of `message`.
    static func text(of type: DNSRecordType, in message: [UInt8], from start: Int, to end: Int) -> String {
        var reader = Reader(message: message, offset: start, end: end)
        let parsed: String?
        switch type {
        case .a where end - start == 4, .aaaa where end - start == 16:
            parsed = IPAddressText(bytes: Array(message[start..<end])).canonicalText
        case .ns, .cname, .ptr, .dname:
            parsed = reader.name().flatMap { reader.atEnd ? $0 : nil }
        case .mx:
            parsed = fields(&reader, [.number16, .name])
        case .soa:
            parsed = fields(&reader, [.name, .name, .number32, .number32, .number32, .number32, .number32])
        case .srv:
            parsed = fields(&reader, [.number16, .number16, .number16, .name])
        case .txt:
            parsed = characterStrings(&reader)
        default:
            parsed = nil
        }
        return parsed ?? unknown(Array(message[start..<end]))
    }

    private enum Field { case name, number16, number32 }

    /// The fields in order, space-separated; nil unless they fill the data exactly.
    private static func fields(_ reader: inout Reader, _ layout: [Field]) -> String? {
        var parts: [String] = []
        for field in layout {
            let part: String? = switch field {
            case .name: reader.name()
            case .number16: reader.uint16().map(String.init)
            case .number32: reader.uint32().map(String.init)
            }
            guard let part else { return nil }
            parts.append(part)
        }
        return reader.atEnd ? parts.joined(separator: " ") : nil
    }

    /// TXT: each <length><bytes> string quoted, with `"` and `\` escaped and other unprintable bytes as `\DDD`.
    private static func characterStrings(_ reader: inout Reader) -> String? {
        var strings: [String] = []
        while !reader.atEnd {
            guard let bytes = reader.characterString() else { return nil }
            var text = "\""
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): text += "\\" + String(UnicodeScalar(byte))
                case 0x20..<0x7F: text.unicodeScalars.append(UnicodeScalar(byte))
                default: text += "\\" + String(repeating: "0", count: byte < 10 ? 2 : byte < 100 ? 1 : 0) + String(byte)
                }
            }
            strings.append(text + "\"")
        }
        return strings.joined(separator: " ")
    }

    private static func unknown(_ data: [UInt8]) -> String {
        let hex = data.map { ($0 < 16 ? "0" : "") + String($0, radix: 16).uppercased() }.joined()
        return "\\# \(data.count)" + (hex.isEmpty ? "" : " " + hex)
    }

    /// Bounds-checked reads within one record's data.
    private struct Reader {
        let message: [UInt8]
        var offset: Int
        let end: Int

        var atEnd: Bool { offset == end }

        mutating func uint16() -> UInt16? {
            guard offset + 2 <= end else { return nil }
            defer { offset += 2 }
            return UInt16(message[offset]) << 8 | UInt16(message[offset + 1])
        }

        mutating func uint32() -> UInt32? {
            guard let high = uint16(), let low = uint16() else { return nil }
            return UInt32(high) << 16 | UInt32(low)
        }

        /// A name, which may point back into the message (compression).
        mutating func name() -> String? {
            guard offset < end, let read = try? WireNameScanner.readName(message, at: offset), read.end <= end else {
                return nil
            }
            offset = read.end
            return read.name.description
        }

        mutating func characterString() -> ArraySlice<UInt8>? {
            guard offset < end else { return nil }
            let length = Int(message[offset])
            guard offset + 1 + length <= end else { return nil }
            defer { offset += 1 + length }
            return message[(offset + 1)..<(offset + 1 + length)]
        }
    }
}
