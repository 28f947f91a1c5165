import NIOCore

/// CoreDNS's `whoami`: answers every query with the client's address and port, in the additional section,
/// under the (lowercased) query name: an A or AAAA record for the address and an SRV record `_udp.QNAME` or
/// `_tcp.QNAME` whose port is the client's source port. TTL 0, AA set, no answer records.
///
/// gRPC clients are answered from the peer address gRPC core reports, with `_tcp` (CoreDNS's request.Proto() for
/// every stream transport). When a client has no IP address (a transport that reports none), the reply is the
/// same NOERROR with an empty additional section.
struct WhoamiPlugin: QueryStep {
    func answer(_ query: DNSMessage, from client: QueryClient) -> DNSMessage? {
        Self.reply(to: query, client: client.address, transport: client.transport)
    }

    /// The reply for `query` from `client` over `transport`.
    static func reply(to query: DNSMessage, client: SocketAddress?, transport: ClientTransport) -> DNSMessage {
        guard let question = query.question else { return query.errorReply(.formErr) }
        var builder = DNSResponseBuilder(replyingTo: query)
        let owner = question.name.lowercasedName
        if let client, let bytes = addressBytes(of: client),
           let record = DNSResourceRecord.address(owner, bytes: bytes, ttl: 0, recordClass: question.qclass) {
            builder.append(record, to: .additional)
        }
        // CoreDNS's request.Proto(): "udp" for UDP, "tcp" for every stream transport.
        let proto = transport == .udp ? "_udp" : "_tcp"
        if let client, let port = client.port, let service = owner.prepending(label: proto) {
            builder.append(.service(service, port: UInt16(truncatingIfNeeded: port), target: .root, ttl: 0,
                                    recordClass: question.qclass), to: .additional)
        }
        return builder.build()
    }

    /// 4 bytes for IPv4 clients (IPv4-mapped IPv6 included, as Go's To4 sees them), 16 for IPv6, nil otherwise.
    static func addressBytes(of address: SocketAddress) -> [UInt8]? {
        guard let text = address.ipAddress, let parsed = IPAddressText(text) else { return nil }
        let bytes = parsed.bytes
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return Array(bytes[12..<16])
        }
        return bytes
    }
}
