import Testing
@testable import DnsServiceBridge

/// The hand-written protobuf reader and writer: what they write reads back, and bad bytes are refused, not trusted.
@Suite struct ProtobufWireTests {
    private func fields(_ bytes: [UInt8]) throws -> [(UInt64, ProtobufReader.Value)] {
        var reader = ProtobufReader(bytes[...])
        var fields: [(UInt64, ProtobufReader.Value)] = []
        while let field = try reader.next() { fields.append(field) }
        return fields
    }

    @Test func whatIsWrittenReadsBack() throws {
        var writer = ProtobufWriter()
        writer.string(1, "héllo")
        writer.int32(2, -1)
        writer.int32(3, 300)
        writer.message(4) { $0.string(1, "inner") }
        let read = try fields(writer.bytes)
        #expect(read.map(\.0) == [1, 2, 3, 4])
        guard case .lengthDelimited(let text) = read[0].1, case .varint(let minusOne) = read[1].1,
              case .varint(let number) = read[2].1, case .lengthDelimited(let inner) = read[3].1 else {
            Issue.record("unexpected wire types")
            return
        }
        #expect(String(decoding: text, as: UTF8.self) == "héllo")
        // A negative int32 is ten bytes on the wire, as protobuf's own encoders write it.
        #expect(Int32(truncatingIfNeeded: minusOne) == -1)
        #expect(Array(writer.bytes[8..<19]) == [0x10] + Array(repeating: 0xFF, count: 9) + [0x01])
        #expect(number == 300)
        #expect(Array(inner) == [0x0A, 5] + Array("inner".utf8))
    }

    @Test func badBytesAreRefused() {
        #expect(throws: ProtobufWireError.truncated) { try fields([0x0A, 5, 1, 2]) }
        #expect(throws: ProtobufWireError.truncated) { try fields([0x08]) }
        #expect(throws: ProtobufWireError.truncated) { try fields([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) }
        #expect(throws: ProtobufWireError.varintTooLong) { try fields([0x08] + Array(repeating: 0xFF, count: 11)) }
        #expect(throws: ProtobufWireError.badFieldNumber(0)) { try fields([0x02, 0]) }
        #expect(throws: ProtobufWireError.badWireType(field: 1, wireType: 3)) { try fields([0x0B]) }
        #expect(throws: ProtobufWireError.truncated) { try fields([0x0D, 1, 2]) }
    }
}
