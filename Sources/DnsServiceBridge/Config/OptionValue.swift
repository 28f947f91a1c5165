/// Reads the typed values of directive arguments, each failure naming the option and what it wanted.
enum OptionValue {
    static let durationExample = "a non-negative duration in Go syntax, such as 500ms, 10s or 1m30s"

    /// A non-negative Go duration.
    static func duration(_ token: CorefileToken, for option: String) throws(ConfigurationError) -> Duration {
        guard let value = GoDuration.parse(token.text), value >= .zero else {
            throw ConfigurationError(
                at: token.location, "bad duration '\(token.text)' for \(option)", expected: durationExample)
        }
        return value
    }

    /// A decimal integer in `range`; `expected` describes the range in words.
    static func integer(
        _ token: CorefileToken, for option: String, in range: ClosedRange<Int>, expected: String
    ) throws(ConfigurationError) -> Int {
        guard token.text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-" || $0 == "+") }),
              let value = Int(token.text) else {
            throw ConfigurationError(
                at: token.location, "\(option) '\(token.text)' is not a number", expected: expected)
        }
        guard range.contains(value) else {
            throw ConfigurationError(
                at: token.location, "\(option) \(value) is out of range", expected: expected)
        }
        return value
    }

    /// A zone argument (`FROM`, `except`, hosts and cache zones): a domain name or a CIDR on a label boundary.
    /// As CoreDNS's `NormalizeExact` does, a `dns://`-style scheme and a `:PORT` are accepted and dropped.
    static func zone(_ token: CorefileToken, for option: String) throws(ConfigurationError) -> String {
        switch ZoneName.parse(ZoneName.withoutSchemeAndPort(token.text)) {
        case .success(.name(let zone)):
            return zone
        case .success(.reverse(let zone, nil)):
            return zone
        case .success(.reverse(_, .some)):
            throw ConfigurationError(
                at: token.location, "\(option) '\(token.text)' is not on a reverse-zone boundary",
                expected: "a CIDR whose prefix length is a multiple of 8 (IPv4) or 4 (IPv6)")
        case .failure(let failure):
            throw ConfigurationError(at: token.location, "bad \(option): \(failure.problem)", expected: failure.expected)
        }
    }

    /// A listen address `[HOST]:PORT` for the HTTP endpoints (prometheus, health, ready), as Go's
    /// `net.SplitHostPort` wants it.
    static func listenAddress(_ token: CorefileToken, for directive: String) throws(ConfigurationError) -> String {
        let text = token.text
        let expected = "HOST:PORT or :PORT, such as localhost:9153, :8080 or [::1]:8181"
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw ConfigurationError(at: token.location, "bad \(directive) address '\(text)'", expected: expected)
            }
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else {
                throw ConfigurationError(at: token.location, "bad \(directive) address '\(text)'", expected: expected)
            }
            portText = text[text.index(after: colon)...]
        }
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let port = Int(portText), (0...65535).contains(port) else {
            throw ConfigurationError(
                at: token.location, "bad port '\(portText)' in \(directive) address '\(text)'",
                expected: "a port number from 0 to 65535")
        }
        return text
    }

    /// The absolute path of a file that must exist and be readable now; `what` names it ("TLS certificate file").
    static func readableFile(
        _ token: CorefileToken, what: String, context: DirectiveContext
    ) throws(ConfigurationError) -> String {
        let path = FileProbe.absolute(token.text, relativeTo: context.workingDirectory)
        let problem = FileProbe.status(of: path).problem.map { "\(what) '\(token.text)' \($0)" }
        if let problem {
            throw ConfigurationError(at: token.location, problem, expected: "an existing, readable file")
        }
        return path
    }

    /// A TLS server name or other host name (`tls_servername`, `#NAME`).
    static func hostName(_ token: CorefileToken, text: String, for option: String) throws(ConfigurationError) -> String {
        if let problem = ZoneName.problem(inName: text) {
            throw ConfigurationError(
                at: token.location, "bad \(option) '\(text)': \(problem)", expected: "a host name such as dns.quad9.net")
        }
        return text
    }
}
