/// The network of a CIDR server block key that does not end on a reverse-zone label boundary (a multiple of 8
/// bits for IPv4, 4 for IPv6). The key serves the enclosing reverse zone, and only names inside this network:
/// `10.0.0.0/25` serves `0.0.10.in-addr.arpa.` filtered to 10.0.0.0/25, as CoreDNS's README describes.
public struct ReverseNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The network address in canonical text, host bits cleared (`10.0.0.0`, `2001:db8::`).
    public var address: String
    /// The prefix length in bits.
    public var prefixLength: Int
    /// The network address in network byte order: 4 bytes for IPv4, 16 for IPv6.
    public var addressBytes: [UInt8]

    /// Creates a network from its address bytes (4 or 16) and prefix length, clearing host bits; a prefix
    /// length outside 0...bits is clamped.
    public init(addressBytes: [UInt8], prefixLength requested: Int) {
        let prefixLength = min(max(requested, 0), addressBytes.count * 8)
        var masked = addressBytes
        for index in masked.indices {
            let bitsBefore = index * 8
            if bitsBefore >= prefixLength {
                masked[index] = 0
            } else if bitsBefore + 8 > prefixLength {
                masked[index] &= UInt8(truncatingIfNeeded: 0xFF << (8 - (prefixLength - bitsBefore)))
            }
        }
        self.addressBytes = masked
        self.prefixLength = prefixLength
        self.address = IPAddressText(bytes: masked).canonicalText
    }

    /// True for an IPv6 network.
    public var isIPv6: Bool { addressBytes.count == 16 }

    /// `10.0.0.0/25`.
    public var description: String { "\(address)/\(prefixLength)" }

    /// True when the reverse name (`5.0.0.10.in-addr.arpa.`) points into this network. A shorter name, such as the
    /// zone apex `0.0.10.in-addr.arpa.`, matches when the network and the name's prefix overlap.
    public func contains(reverseName: String) -> Bool {
        var name = reverseName.lowercased()
        if !name.hasSuffix(".") { name += "." }
        let suffix = isIPv6 ? "ip6.arpa." : "in-addr.arpa."
        guard name.hasSuffix(suffix) else { return false }
        let head = name.dropLast(suffix.count)
        let labels = head.isEmpty ? [] : head.dropLast().split(separator: ".", omittingEmptySubsequences: false)
        let unitBits = isIPv6 ? 4 : 8
        guard labels.count * unitBits <= addressBytes.count * 8 else { return false }

        var bytes = [UInt8](repeating: 0, count: addressBytes.count)
        for (position, label) in labels.reversed().enumerated() {
            if isIPv6 {
                guard label.count == 1, let nibble = UInt8(label, radix: 16) else { return false }
                bytes[position / 2] |= position % 2 == 0 ? nibble << 4 : nibble
            } else {
                guard let octet = UInt8(label) else { return false }
                bytes[position] = octet
            }
        }
        let comparedBits = max(0, min(labels.count * unitBits, prefixLength))
        for bit in 0..<comparedBits {
            let mask = UInt8(0x80) >> UInt8(bit % 8)
            if bytes[bit / 8] & mask != addressBytes[bit / 8] & mask { return false }
        }
        return true
    }
}
