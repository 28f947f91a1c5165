import CGRPC

/// CoreDNS's `DnsPacket { bytes msg = 1; }`, (de)serialised by protobuf-c.
public enum DnsPacketCodec {
    /// Why bytes could not be read as a DnsPacket.
    public struct DecodingError: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String { "the request is not a coredns.dns.DnsPacket protobuf message" }
    }

    /// The serialised DnsPacket carrying `message`.
    public static func encode(_ message: [UInt8]) -> [UInt8] {
        message.withUnsafeBufferPointer { buffer in
            cgrpc_dns_packet_pack(buffer.baseAddress, buffer.count).consumeIntoArray()
        }
    }

    /// The `msg` field of a serialised DnsPacket.
    public static func decode(_ packet: [UInt8]) throws(DecodingError) -> [UInt8] {
        var msg = cgrpc_bytes()
        let result = packet.withUnsafeBufferPointer { buffer in
            cgrpc_dns_packet_unpack(buffer.baseAddress, buffer.count, &msg)
        }
        guard result == 0 else { throw DecodingError() }
        return msg.consumeIntoArray()
    }
}
