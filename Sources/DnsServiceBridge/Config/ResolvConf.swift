/// The `nameserver` lines of a resolv.conf-format file, as CoreDNS reads a `TO` that names a file.
enum ResolvConf {
    /// Each `nameserver ADDRESS` in order, an IPv6 `%zone` removed as CoreDNS does; comments (`#`, `;`) ignored.
    static func nameservers(in text: String) -> [(line: Int, address: String)] {
        var servers: [(line: Int, address: String)] = []
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let content = rawLine.prefix { $0 != "#" && $0 != ";" }
            let fields = content.split(whereSeparator: \.isWhitespace)
            guard fields.count >= 2, fields[0] == "nameserver" else { continue }
            var address = String(fields[1])
            if let percent = address.lastIndex(of: "%") { address = String(address[..<percent]) }
            servers.append((offset + 1, address))
        }
        return servers
    }
}
