extension GRPCPeer {
    /// The client's IP address read from gRPC core's peer name (`ipv4:10.0.0.1:40000`, `ipv6:[::1]:40000`, or
    /// percent-encoded `ipv6:%5B%3A%3A1%5D:40000`) without allocating: the rate limit asks for it on every call.
    /// nil for a peer with no IP address (`unix:/path`).
    static func clientIP(_ peer: String) -> ClientIP? {
        var bytes = PercentDecoded(peer.utf8.makeIterator())
        var scheme: UInt64 = 0
        for _ in 0..<5 {
            guard let byte = bytes.next() else { return nil }
            scheme = scheme << 8 | UInt64(byte)
        }
        switch scheme {
        case Self.ipv4Scheme:
            return ClientIPText.ipv4(&bytes, until: UInt8(ascii: ":")).map(ClientIP.init(ipv4:))
        case Self.ipv6Scheme:
            guard bytes.next() == UInt8(ascii: "["),
                  let address = ClientIPText.ipv6(&bytes, until: UInt8(ascii: "]")) else { return nil }
            return ClientIP(value: address)
        default:
            return nil
        }
    }

    /// `ipv4:` and `ipv6:` as five bytes in one number.
    private static let ipv4Scheme = Array("ipv4:".utf8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    private static let ipv6Scheme = Array("ipv6:".utf8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
}

/// The bytes of a percent-encoded text, decoded as they are read; a malformed escape reads as a zero byte, which
/// no address contains.
struct PercentDecoded<Base: IteratorProtocol<UInt8>>: IteratorProtocol {
    private var base: Base

    init(_ base: Base) {
        self.base = base
    }

    mutating func next() -> UInt8? {
        guard let byte = base.next() else { return nil }
        guard byte == UInt8(ascii: "%") else { return byte }
        guard let high = base.next().flatMap(ClientIPText.hexadecimal),
              let low = base.next().flatMap(ClientIPText.hexadecimal) else { return 0 }
        return UInt8(high << 4 | low)
    }
}
