/// An IP network (`10.0.0.0/8`, `fd00::/8`, or one address), for allow-lists.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The network's address bytes (4 or 16), host bits cleared.
    let bytes: [UInt8]
    public let prefixLength: Int

    /// `ADDRESS[/PREFIX]`; nil when it is not one.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddressText(String(parts[0])) else { return nil }
        let bits = address.bytes.count * 8
        var length = bits
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...bits).contains(given), parts[1].allSatisfy(\.isNumber) else {
                return nil
            }
            length = given
        }
        bytes = Self.masked(address.bytes, to: length)
        prefixLength = length
    }

    /// Whether `address` (4 or 16 bytes) is inside; an IPv4-mapped IPv6 address counts as its IPv4 address.
    func contains(_ address: [UInt8]) -> Bool {
        var address = address
        if bytes.count == 4, address.count == 16, address[..<12].elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]) {
            address = Array(address[12...])
        }
        guard address.count == bytes.count else { return false }
        return Self.masked(address, to: prefixLength) == bytes
    }

    public var description: String { "\(IPAddressText(bytes: bytes).canonicalText)/\(prefixLength)" }

    /// `address` with every bit past the first `length` cleared.
    static func masked(_ address: [UInt8], to length: Int) -> [UInt8] {
        var out = address
        for index in out.indices {
            let kept = min(max(length - index * 8, 0), 8)
            out[index] &= kept == 8 ? 0xff : ~(0xff >> UInt8(kept))
        }
        return out
    }
}
