// The text ("presentation") form of names, as in zone files and dig output, with RFC 1035 5.1 escapes.
extension DNSName: CustomStringConvertible {
    /// Parses "example.org", "example.org." or "." (root); `\.` and `\DDD` escape bytes inside a label.
    public init(_ text: String) throws(DNSWireError) {
        let input = Array(text.utf8)
        if input == [UInt8(ascii: ".")] {
            self = .root
            return
        }
        var wire: [UInt8] = [0]
        wire.reserveCapacity(input.count + 2)
        var lengthIndex = 0
        var labelLength = 0
        var index = 0
        while index < input.count {
            let character = input[index]
            var byte = character
            if character == UInt8(ascii: ".") {
                guard labelLength > 0 else {
                    throw .emptyLabel(name: text)
                }
                try Self.close(label: labelLength, at: lengthIndex, in: &wire)
                lengthIndex = wire.count
                wire.append(0)
                labelLength = 0
                index += 1
                continue
            }
            if character == UInt8(ascii: "\\") {
                guard index + 1 < input.count else {
                    throw .invalidEscape(name: text)
                }
                let next = input[index + 1]
                if Self.isDigit(next) {
                    guard index + 3 < input.count, Self.isDigit(input[index + 2]), Self.isDigit(input[index + 3]) else {
                        throw .invalidEscape(name: text)
                    }
                    let value = Int(next - 48) * 100 + Int(input[index + 2] - 48) * 10 + Int(input[index + 3] - 48)
                    guard value <= 255 else {
                        throw .invalidEscape(name: text)
                    }
                    byte = UInt8(value)
                    index += 4
                } else {
                    byte = next
                    index += 2
                }
            } else {
                index += 1
            }
            labelLength += 1
            wire.append(byte)
        }
        if labelLength > 0 {
            try Self.close(label: labelLength, at: lengthIndex, in: &wire)
            wire.append(0)
        } else if wire.count == 1 {
            // Only the empty string gets here: "." returned early and "a." leaves wire longer than one byte.
            throw .emptyLabel(name: text)
        }
        guard wire.count <= 255 else {
            throw .nameTooLong(length: wire.count)
        }
        self.init(uncheckedWire: wire)
    }

    /// The fully qualified name with its trailing dot, original case, special bytes escaped as dig prints them.
    public var description: String {
        if isRoot {
            return "."
        }
        var text: [UInt8] = []
        text.reserveCapacity(wireBytes.count + 4)
        var offset = 0
        while offset < wireBytes.count, wireBytes[offset] != 0 {
            let end = offset + 1 + Int(wireBytes[offset])
            for byte in wireBytes[(offset + 1)..<end] {
                Self.appendEscaped(byte, to: &text)
            }
            text.append(UInt8(ascii: "."))
            offset = end
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func close(label length: Int, at lengthIndex: Int, in wire: inout [UInt8]) throws(DNSWireError) {
        guard length <= 63 else {
            throw .labelTooLong(length: length)
        }
        wire[lengthIndex] = UInt8(length)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    // Same set as miekg/dns, so names in our logs read like CoreDNS's.
    private static func appendEscaped(_ byte: UInt8, to text: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: " "), UInt8(ascii: "'"), UInt8(ascii: "@"), UInt8(ascii: ";"),
            UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "\""), UInt8(ascii: "\\"):
            text.append(UInt8(ascii: "\\"))
            text.append(byte)
        case 0x21...0x7E:
            text.append(byte)
        default:
            text.append(UInt8(ascii: "\\"))
            text.append(48 + byte / 100)
            text.append(48 + byte / 10 % 10)
            text.append(48 + byte % 10)
        }
    }
}
