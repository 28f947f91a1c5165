import Testing

@testable import DnsServiceBridge

@Suite struct DnsPacketCodecTests {
    @Test func encodesFieldOneAsLengthDelimitedBytes() {
        // DnsPacket{msg: 01 02 03}: tag (1 << 3 | 2) = 0x0a, length 3, the bytes.
        #expect(DnsPacketCodec.encode([1, 2, 3]) == [0x0A, 0x03, 1, 2, 3])
        // proto3 leaves an empty bytes field out entirely.
        #expect(DnsPacketCodec.encode([]) == [])
    }

    @Test func roundTripsAQuery() throws {
        let query = DNSMessage.query(name: try DNSName("www.example.org"), type: .a, id: 0x1234)
        let packet = DnsPacketCodec.encode(query.bytes)
        #expect(packet.count == query.bytes.count + 2)
        #expect(try DnsPacketCodec.decode(packet) == query.bytes)
    }

    @Test func roundTripsTheLargestMessage() throws {
        let message = (0..<DNSMessage.maxSize).map { UInt8(truncatingIfNeeded: $0) }
        // 65535 needs a 3-byte varint length.
        let packet = DnsPacketCodec.encode(message)
        #expect(packet.count == message.count + 4)
        #expect(try DnsPacketCodec.decode(packet) == message)
    }

    @Test func rejectsBytesThatAreNotADnsPacket() {
        #expect(throws: DnsPacketCodec.DecodingError.self) { try DnsPacketCodec.decode([0xFF, 0xFF, 0xFF]) }
        // A length that runs past the end.
        #expect(throws: DnsPacketCodec.DecodingError.self) { try DnsPacketCodec.decode([0x0A, 0x05, 1, 2]) }
    }

    @Test func emptyInputIsAPacketWithAnEmptyMessage() throws {
        #expect(try DnsPacketCodec.decode([]) == [])
    }
}
