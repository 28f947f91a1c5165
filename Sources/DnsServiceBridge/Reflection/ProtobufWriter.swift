/// Writes protobuf fields, in the order they are added, for the messages built here by hand.
struct ProtobufWriter {
    private(set) var bytes: [UInt8] = []

    mutating func bytes(_ field: UInt64, _ value: some Collection<UInt8>) {
        key(field, wireType: 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    mutating func string(_ field: UInt64, _ value: String) {
        bytes(field, value.utf8)
    }

    /// A nested message, as a length-delimited field.
    mutating func message(_ field: UInt64, _ build: (inout ProtobufWriter) -> Void) {
        var nested = ProtobufWriter()
        build(&nested)
        bytes(field, nested.bytes)
    }

    /// An int32: a negative number takes ten bytes, sign-extended to 64 bits as the protobuf encoding says.
    mutating func int32(_ field: UInt64, _ value: Int32) {
        key(field, wireType: 0)
        varint(UInt64(bitPattern: Int64(value)))
    }

    private mutating func key(_ field: UInt64, wireType: UInt64) {
        varint(field << 3 | wireType)
    }

    private mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }
}
