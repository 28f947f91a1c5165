/// Reads a server block key `[SCHEME://]ZONE[:PORT]` as CoreDNS's `dnsserver` does.
///
/// The port is the digits after the last colon; for a CIDR key it has to come after the prefix
/// (`2001:db8::/32:1053`). Without a port, dns keys get `defaultDNSPort` (the caller's `-dns.port`), tls keys
/// 853 and grpc keys 443.
struct ListenAddressParser {
    let defaultDNSPort: Int
    /// Where relative unix socket paths start: the Corefile's directory.
    var workingDirectory = FileProbe.currentDirectory

    func parse(_ key: CorefileToken) throws(ConfigurationError) -> ListenAddress {
        let text = key.text
        let expectedKey = "[dns://|tls://|grpc://|https://]ZONE[:PORT], such as example.org, tls://.:853 or 10.0.0.0/24"
        var scheme = ListenScheme.dns
        var rest = Substring(text)
        if let separator = text.firstRange(of: "://") {
            let name = String(text[..<separator.lowerBound])
            guard let known = ListenScheme(rawValue: name.lowercased()) else {
                throw ConfigurationError(
                    at: key.location, "unsupported scheme '\(name)' in server block key '\(text)'",
                    expected: "dns://, tls://, grpc:// or https://")
            }
            scheme = known
            rest = text[separator.upperBound...]
        }

        if scheme == .grpc, rest.lowercased().hasPrefix("unix:") {
            return try unixSocket(key, path: rest.dropFirst(5))
        }
        var port = scheme == .dns ? defaultDNSPort : scheme.defaultPort
        let slash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), slash.map({ colon > $0 }) ?? true {
            let portText = rest[rest.index(after: colon)...]
            let host = rest[..<colon]
            let hostIsBareIPv6 = slash == nil && host.contains(":")
            if hostIsBareIPv6 {
                throw ConfigurationError(
                    at: key.location, "server block key '\(text)' is an IPv6 address without a prefix length",
                    expected: "a reverse zone written as a CIDR, such as 2001:db8::/32")
            }
            guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let number = Int(portText), (0...65535).contains(number) else {
                throw ConfigurationError(
                    at: key.location, "bad port '\(portText)' in server block key '\(text)'",
                    expected: "a port number from 0 to 65535")
            }
            port = number
            rest = host
        }

        switch ZoneName.parse(String(rest)) {
        case .success(.name(let zone)):
            return ListenAddress(scheme: scheme, zone: zone, port: port)
        case .success(.reverse(let zone, let filter)):
            return ListenAddress(scheme: scheme, zone: zone, port: port, reverseFilter: filter)
        case .failure(let failure):
            throw ConfigurationError(
                at: key.location, "bad server block key: \(failure.problem)",
                expected: rest.isEmpty ? expectedKey : failure.expected)
        }
    }

    /// `grpc://unix:PATH` (also `unix:///PATH`): the root zone served over a unix-domain socket. A path that
    /// exists and is not a socket is refused here, before anything could replace it.
    private func unixSocket(_ key: CorefileToken, path: Substring) throws(ConfigurationError) -> ListenAddress {
        // The listener binds a longer name beside it first (`UnixSocketFile.bindPath`).
        let absolute = try UnixSocketPath.absolute(
            path, relativeTo: workingDirectory,
            maximumLength: UnixSocketPath.maximumLength - UnixSocketFile.bindSuffixLength, in: key,
            noPath: ConfigurationError(at: key.location, "server block key '\(key.text)' names no socket path",
                                       expected: "grpc://unix:PATH, such as grpc://unix:/run/dnsgrpcd.sock"))
        switch FileProbe.status(of: absolute) {
        case .missing, .socket:
            break
        case .readableFile, .unreadable, .directory:
            throw ConfigurationError(at: key.location, "'\(absolute)' exists and is not a unix socket",
                                     expected: "a path that is free or holds a socket (which is replaced)")
        }
        var address = ListenAddress(scheme: .grpc, zone: ".", port: 0)
        address.unixPath = absolute
        return address
    }
}
