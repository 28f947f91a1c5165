/// Reads the address out of a reverse-lookup name, as CoreDNS's `dnsutil.ExtractAddressFromReverse` does:
/// `4.3.2.1.in-addr.arpa.` is 1.2.3.4 and 32 nibble labels under `ip6.arpa.` are an IPv6 address.
enum ReverseName {
    /// The 4 or 16 address bytes, or nil when `name` is not a complete reverse name.
    static func address(from name: DNSName) -> [UInt8]? {
        let labels = name.labels.map { String(decoding: $0, as: UTF8.self).lowercased() }
        if labels.count == 6, labels[4] == "in-addr", labels[5] == "arpa" {
            var bytes: [UInt8] = []
            for label in labels[0..<4].reversed() {
                guard label.allSatisfy(\.isASCII), label.count <= 3, let value = UInt8(label) else { return nil }
                bytes.append(value)
            }
            return bytes
        }
        if labels.count == 34, labels[32] == "ip6", labels[33] == "arpa" {
            var nibbles: [UInt8] = []
            for label in labels[0..<32].reversed() {
                guard label.count == 1, let value = UInt8(label, radix: 16) else { return nil }
                nibbles.append(value)
            }
            return stride(from: 0, to: 32, by: 2).map { nibbles[$0] << 4 | nibbles[$0 + 1] }
        }
        return nil
    }
}
