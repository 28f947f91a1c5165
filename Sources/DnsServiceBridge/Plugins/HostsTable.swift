/// The entries of one hosts file (or of a `hosts` block's inline lines), indexed as CoreDNS's hosts plugin
/// indexes them: names to IPv4 and IPv6 addresses, and addresses back to names for PTR.
struct HostsTable: Sendable, Equatable {
    private(set) var ipv4: [DNSName: [[UInt8]]] = [:]
    private(set) var ipv6: [DNSName: [[UInt8]]] = [:]
    private(set) var namesByAddress: [[UInt8]: [DNSName]] = [:]

    /// Every address and reverse entry, for logs.
    var count: Int {
        ipv4.values.reduce(0) { $0 + $1.count } + ipv6.values.reduce(0) { $0 + $1.count }
            + namesByAddress.values.reduce(0) { $0 + $1.count }
    }

    /// Reads hosts-file text: `ADDRESS NAME...` per line, `#` starts a comment, lines that do not parse are
    /// skipped (as in CoreDNS and the C library). Names outside `zones` are left out; with `reverse` false no
    /// PTR index is built (`no_reverse`).
    init(parsing text: String, zones: [DNSName], reverse: Bool) {
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let line = rawLine.prefix { $0 != "#" }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let address = Self.address(String(fields[0])) else { continue }
            for field in fields.dropFirst() {
                guard let name = try? DNSName(String(field)), zones.contains(where: { name.isSubdomain(of: $0) })
                else { continue }
                if address.count == 4 {
                    ipv4[name, default: []].append(address)
                } else {
                    ipv6[name, default: []].append(address)
                }
                if reverse { namesByAddress[address, default: []].append(name.lowercasedName) }
            }
        }
    }

    /// An empty table.
    init() {}

    /// The addresses of one family (4 or 16 bytes) for `name`.
    func addresses(of name: DNSName, ipv6 wantIPv6: Bool) -> [[UInt8]] {
        (wantIPv6 ? ipv6 : ipv4)[name] ?? []
    }

    /// The names for `address`.
    func names(for address: [UInt8]) -> [DNSName] {
        namesByAddress[address] ?? []
    }

    /// Address bytes, IPv4-mapped IPv6 read as IPv4 (as Go's To4 does); an IPv6 `%zone` is dropped.
    static func address(_ text: String) -> [UInt8]? {
        let bare = text.split(separator: "%", maxSplits: 1).first.map(String.init) ?? text
        guard let parsed = IPAddressText(bare) else { return nil }
        let bytes = parsed.bytes
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return Array(bytes[12..<16])
        }
        return bytes
    }
}
