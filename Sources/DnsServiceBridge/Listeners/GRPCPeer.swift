import NIOCore

/// Reads gRPC core's peer strings: `ipv4:127.0.0.1:5353` and `ipv6:[::1]:5353` (newer gRPC percent-encodes the
/// brackets and colons of IPv6, `ipv6:%5B%3A%3A1%5D:5353`); anything else (unix sockets) has no IP address.
enum GRPCPeer {
    /// The client's socket address, or nil when the peer string is not an IP address and port.
    static func socketAddress(_ peer: String) -> SocketAddress? {
        let text = (peer.removingPercentEncodingIfValid ?? peer)
        let rest: Substring
        if text.hasPrefix("ipv4:") {
            rest = text.dropFirst(5)
        } else if text.hasPrefix("ipv6:") {
            rest = text.dropFirst(5)
        } else {
            return nil
        }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = rest[..<colon]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        return try? SocketAddress(ipAddress: String(host), port: port)
    }
}

extension String {
    /// `%XX` escapes decoded; nil when an escape is malformed or the result is not UTF-8.
    fileprivate var removingPercentEncodingIfValid: String? {
        guard contains("%") else { return self }
        var bytes: [UInt8] = []
        var utf8 = Array(self.utf8)[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(value)
            utf8 = utf8.dropFirst(2)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
