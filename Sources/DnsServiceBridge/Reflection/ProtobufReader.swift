/// Reads the fields of one protobuf message from its wire bytes, one at a time, never past the end and never
/// trusting a length. Enough for the few small messages read here by hand (reflection requests, descriptors); groups
/// (wire types 3 and 4, deprecated since proto2) are refused.
struct ProtobufReader {
    /// One field's value as the wire carries it.
    enum Value {
        case varint(UInt64)
        case fixed64
        case lengthDelimited(ArraySlice<UInt8>)
        case fixed32
    }

    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
    }

    /// The next field, or nil at the end of the message.
    mutating func next() throws(ProtobufWireError) -> (field: UInt64, value: Value)? {
        guard !bytes.isEmpty else { return nil }
        let key = try varint()
        let field = key >> 3
        guard field >= 1, field <= 536_870_911 else { throw .badFieldNumber(field) }
        switch key & 7 {
        case 0: return (field, .varint(try varint()))
        case 1:
            try skip(8)
            return (field, .fixed64)
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.count) else { throw .truncated }
            let value = bytes.prefix(Int(length))
            bytes = bytes.dropFirst(Int(length))
            return (field, .lengthDelimited(value))
        case 5:
            try skip(4)
            return (field, .fixed32)
        default: throw .badWireType(field: field, wireType: key & 7)
        }
    }

    private mutating func varint() throws(ProtobufWireError) -> UInt64 {
        var value: UInt64 = 0
        for shift in stride(from: UInt64(0), to: 64, by: 7) {
            guard let byte = bytes.popFirst() else { throw .truncated }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
        }
        throw .varintTooLong
    }

    private mutating func skip(_ count: Int) throws(ProtobufWireError) {
        guard bytes.count >= count else { throw .truncated }
        bytes = bytes.dropFirst(count)
    }
}

/// Why bytes are not a protobuf message.
enum ProtobufWireError: Error, Hashable, Sendable, CustomStringConvertible {
    case truncated
    case varintTooLong
    case badFieldNumber(UInt64)
    case badWireType(field: UInt64, wireType: UInt64)

    var description: String {
        switch self {
        case .truncated: "the message ends inside a field; expected complete protobuf fields"
        case .varintTooLong: "a varint runs past 10 bytes; expected at most 10"
        case .badFieldNumber(let field): "field number \(field); expected 1 to 536870911"
        case .badWireType(let field, let wireType):
            "field \(field) has wire type \(wireType); expected 0, 1, 2 or 5"
        }
    }
}
