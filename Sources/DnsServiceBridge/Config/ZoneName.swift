/// Zone names as the configuration stores them: lowercase, fully qualified, `.` for the root; and the
/// conversion of CIDR notation to reverse zones as CoreDNS does for keys and zone arguments.
enum ZoneName {
    /// What a zone argument turned out to be.
    enum Parsed: Equatable {
        /// A domain name, normalized.
        case name(String)
        /// A CIDR: the reverse zone, with the network when the prefix is not on a label boundary.
        case reverse(zone: String, filter: ReverseNetwork?)
    }

    /// Reads a zone written without scheme or port: a domain name, or a CIDR such as `10.0.0.0/24`; a CIDR with a
    /// trailing dot (`10.0.0.0/24.`) stays a literal name, as in CoreDNS. Returns the problem when it is neither.
    static func parse(_ text: String) -> Result<Parsed, ZoneNameProblem> {
        if !text.hasSuffix("."), let slash = text.lastIndex(of: "/"),
           let address = IPAddressText(String(text[..<slash])) {
            let prefixText = text[text.index(after: slash)...]
            let maximum = address.bytes.count * 8
            guard let prefix = Int(prefixText), prefixText.allSatisfy(\.isASCII), (0...maximum).contains(prefix) else {
                return .failure(ZoneNameProblem("'\(text)' has a bad prefix length '\(prefixText)'",
                                                expected: "a CIDR prefix length from 0 to \(maximum)"))
            }
            if !address.isIPv4, text.first == ":" || (text.first == "0" && text.contains(":")) {
                // CoreDNS refuses these because ':' also separates the port; keep its rule.
                return .failure(ZoneNameProblem("'\(text)' is an ambiguous IPv6 CIDR",
                                                expected: "an IPv6 CIDR that does not start with ':' or '0'"))
            }
            return .success(reverse(address: address, prefixLength: prefix))
        }
        if let problem = problem(inName: text) {
            return .failure(ZoneNameProblem("'\(text)' is not a valid zone: \(problem)",
                                            expected: "a domain name such as example.org, '.', or a CIDR such as 10.0.0.0/24"))
        }
        return .success(.name(normalize(text)))
    }

    /// `text` without a leading `SCHEME://` and a trailing `:PORT` (a CIDR's port comes after its prefix).
    static func withoutSchemeAndPort(_ text: String) -> String {
        var rest = Substring(text)
        if let separator = rest.firstRange(of: "://") { rest = rest[separator.upperBound...] }
        if let colon = rest.lastIndex(of: ":"), rest.lastIndex(of: "/").map({ colon > $0 }) ?? !rest[..<colon].contains(":") {
            let port = rest[rest.index(after: colon)...]
            if !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }) { rest = rest[..<colon] }
        }
        return String(rest)
    }

    /// Lowercase and fully qualified.
    static func normalize(_ name: String) -> String {
        let lowered = name.lowercased()
        return lowered.hasSuffix(".") ? lowered : lowered + "."
    }

    /// Why `name` is not a domain name in presentation form, or nil when it is one.
    static func problem(inName name: String) -> String? {
        if name.isEmpty { return "it is empty" }
        if name == "." { return nil }
        if name.contains(where: { $0.isWhitespace || ($0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false) }) {
            return "it contains white space or control characters"
        }
        let body = name.hasSuffix(".") ? String(name.dropLast()) : name
        let labels = body.split(separator: ".", omittingEmptySubsequences: false)
        var wireLength = 1
        for label in labels {
            if label.isEmpty { return "it has an empty label" }
            if label.utf8.count > 63 { return "label '\(label)' is longer than 63 bytes" }
            wireLength += label.utf8.count + 1
        }
        if wireLength > 255 { return "it is longer than 255 bytes" }
        return nil
    }

    /// The reverse zone of a network: the labels of the whole bytes (IPv4) or nibbles (IPv6) the prefix covers.
    private static func reverse(address: IPAddressText, prefixLength: Int) -> Parsed {
        let network = ReverseNetwork(addressBytes: address.bytes, prefixLength: prefixLength)
        let unitBits = address.isIPv4 ? 8 : 4
        let wholeUnits = prefixLength / unitBits
        var labels: [String] = []
        if address.isIPv4 {
            labels = network.addressBytes.prefix(wholeUnits).map { String($0) }
        } else {
            for index in 0..<wholeUnits {
                let byte = network.addressBytes[index / 2]
                let nibble = index % 2 == 0 ? byte >> 4 : byte & 0x0F
                labels.append(String(nibble, radix: 16))
            }
        }
        let suffix = address.isIPv4 ? "in-addr.arpa." : "ip6.arpa."
        let zone = (labels.reversed() + [suffix]).joined(separator: ".")
        let aligned = prefixLength % unitBits == 0
        return .reverse(zone: zone, filter: aligned ? nil : network)
    }
}

/// Why text is not a zone, in the two halves a `ConfigurationError` needs.
struct ZoneNameProblem: Error, Equatable {
    var problem: String
    var expected: String

    init(_ problem: String, expected: String) {
        self.problem = problem
        self.expected = expected
    }
}
