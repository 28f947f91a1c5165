/// An IP network in `ClientIP`'s 128-bit form (an IPv4 network as its IPv4-mapped IPv6 range), written as
/// `ADDRESS[/PREFIX]` (`10.0.0.0/8`, `2001:db8::/32`; a lone address is itself): the rate limit's `exempt`.
public struct ClientNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The network's address, host bits cleared.
    let address: ClientIP
    let mask: UInt128
    /// The prefix length as written (IPv4: 0...32).
    let prefixLength: Int

    /// `address` with its first `prefixLength` bits (of 32 for IPv4, of 128 for IPv6) kept.
    init(_ address: ClientIP, prefixLength: Int) {
        self.prefixLength = prefixLength
        mask = ClientIP.mask(bits: address.isIPv4 ? 96 + prefixLength : prefixLength)
        self.address = address.masked(mask)
    }

    /// Reads `ADDRESS[/PREFIX]`; nil when the address is not one or the prefix is out of its family's range.
    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let parsed = IPAddressText(String(parts[0])), let address = ClientIP(bytes: parsed.bytes) else {
            return nil
        }
        let bits = parsed.isIPv4 ? 32 : 128
        var prefixLength = bits
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].utf8.count <= 3, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
                  let length = Int(parts[1]), (0...bits).contains(length) else { return nil }
            prefixLength = length
        }
        self.init(address, prefixLength: prefixLength)
    }

    /// Whether `client` is inside the network.
    func contains(_ client: ClientIP) -> Bool {
        client.value & mask == address.value
    }

    /// `10.0.0.0/8`.
    public var description: String { "\(address)/\(prefixLength)" }
}
