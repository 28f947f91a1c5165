/// Why a gRPC DnsService request was refused with INVALID_ARGUMENT; the description is the status message.
enum GRPCRequestError: Error, Hashable, Sendable, CustomStringConvertible {
    case noMessage
    case notADnsPacket
    case emptyMessage
    case tooLarge(Int)
    case notDNS(DNSWireError)
    case isResponse

    var description: String {
        switch self {
        case .noMessage: return "the call carried no request message; expected a coredns.dns.DnsPacket"
        case .notADnsPacket: return "the request is not a coredns.dns.DnsPacket protobuf message"
        case .emptyMessage: return "DnsPacket.msg is empty; expected a DNS query in wire format"
        case .tooLarge(let size):
            return "DnsPacket.msg has \(size) bytes; a DNS message has at most \(DNSMessage.maxSize)"
        case .notDNS(let error): return "DnsPacket.msg is not a DNS message: \(error)"
        case .isResponse: return "DnsPacket.msg is a DNS response (QR set); expected a query"
        }
    }

    /// The query inside a serialised DnsPacket, or why there is none.
    static func query(from request: [UInt8]?) throws(GRPCRequestError) -> DNSMessage {
        guard let request else { throw .noMessage }
        let bytes: [UInt8]
        do { bytes = try DnsPacketCodec.decode(request) } catch { throw .notADnsPacket }
        guard !bytes.isEmpty else { throw .emptyMessage }
        guard bytes.count <= DNSMessage.maxSize else { throw .tooLarge(bytes.count) }
        let query: DNSMessage
        do { query = try DNSMessage(bytes: bytes) } catch { throw .notDNS(error) }
        guard !query.header.isResponse else { throw .isResponse }
        return query
    }
}
