/// Reads the `TO` arguments of forward, grpc and proxy.
///
/// A `TO` is `[SCHEME://]ADDRESS[:PORT]` with ADDRESS an IP address (`[v6]:port` when a port follows an IPv6
/// address), or, as in CoreDNS, the path of an existing resolv.conf-format file whose `nameserver` lines become
/// upstreams. Host names are refused for DNS, DoT and DoH (as CoreDNS does); gRPC upstreams may be host names, unix
/// sockets and `dns:` targets that gRPC core resolves itself (see `GRPCTargetParser`). Beyond CoreDNS, a tls:// or grpc://
/// upstream may carry its own TLS server name as `tls://9.9.9.9#dns.quad9.net` (port before or after the name);
/// CoreDNS's own form `tls://9.9.9.9%dns.quad9.net[:PORT]` (`tls://[2620:fe::fe%dns.quad9.net]:853` for IPv6)
/// works too.
struct UpstreamAddressParser {
    /// Which directive is asking: it decides the schemes allowed and the default transport.
    enum Mode: Equatable {
        /// forward: dns:// (default), tls://, grpc://.
        case forward
        /// grpc: every upstream is gRPC; a `TO` without `grpc://` gets port 53, as CoreDNS's grpc plugin does.
        case grpc
        /// proxy: no scheme; the transport comes from proxy's `protocol`.
        case proxy(UpstreamTransport)
    }

    let mode: Mode
    let context: DirectiveContext

    func parse(_ token: CorefileToken) throws(ConfigurationError) -> [UpstreamAddress] {
        let text = token.text
        let targets = GRPCTargetParser(context: context)
        // CoreDNS's grpc plugin names a unix socket upstream `unix:///path`, with no grpc:// before it.
        if mode == .grpc, text.lowercased().hasPrefix("unix:"),
           let socket = try targets.special(token, transport: .grpc, text: Substring(text)) {
            return [socket]
        }
        let (transport, defaultPort, afterScheme) = try scheme(of: token)
        if transport == .grpc {
            let named = mode == .grpc && text.lowercased().hasPrefix("dns:") && afterScheme.contains("/")
            if let target = try targets.special(token, transport: transport, text: named ? Substring(text) : afterScheme) {
                return [target]
            }
        }
        var rest = afterScheme
        var serverName: String?
        var portFromName: Substring?
        var path: String?

        if let hash = rest.firstIndex(of: "#") {
            var name = rest[rest.index(after: hash)...]
            rest = rest[..<hash]
            if let colon = name.lastIndex(of: ":") {
                portFromName = name[name.index(after: colon)...]
                name = name[..<colon]
            }
            serverName = String(name)
        }
        // DoH: the request path follows the address (`https://9.9.9.9:443/dns-query`).
        if transport == .https, let slash = rest[(rest.firstIndex(of: "]") ?? rest.startIndex)...].firstIndex(of: "/") {
            path = String(rest[slash...])
            rest = rest[..<slash]
        }
        if serverName == nil, transport != .dns, let percent = rest.lastIndex(of: "%") {
            var name = rest[rest.index(after: percent)...]
            let hostPart = rest[..<percent]
            if let colon = name.lastIndex(of: ":") {
                portFromName = name[name.index(after: colon)...]
                name = name[..<colon]
            }
            if name.hasSuffix("]") { name = name.dropLast() }
            rest = hostPart.hasPrefix("[") && !hostPart.hasSuffix("]") ? Substring(hostPart + "]") : hostPart
            serverName = String(name)
        }
        if let name = serverName {
            guard transport != .dns else {
                throw ConfigurationError(
                    at: token.location, "upstream '\(text)' names a TLS server but is not tls:// or grpc://",
                    expected: "'#NAME' only on tls://, grpc:// and https:// upstreams")
            }
            serverName = try OptionValue.hostName(token, text: name, for: "TLS server name")
        }

        var host = rest
        var portText: Substring? = nil
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw notAnAddress(token) }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw notAnAddress(token) }
                portText = after.dropFirst()
            }
        } else if rest.filter({ $0 == ":" }).count == 1, let colon = rest.firstIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        if let fromName = portFromName {
            guard portText == nil else {
                throw ConfigurationError(
                    at: token.location, "upstream '\(text)' gives its port twice",
                    expected: "the port either before or after '#NAME'")
            }
            portText = fromName
        }

        if IPAddressText.isAddress(String(host)) {
            let port = try portText.map { (text) throws(ConfigurationError) in try upstreamPort(text, in: token) }
            return [UpstreamAddress(
                transport: transport, host: String(host), port: port ?? defaultPort, tlsServerName: serverName,
                path: path)]
        }
        let absolute = FileProbe.absolute(String(afterScheme), relativeTo: context.workingDirectory)
        if transport == .grpc, serverName == nil, !host.isEmpty, FileProbe.status(of: absolute) != .readableFile {
            let port = try portText.map { (text) throws(ConfigurationError) in try upstreamPort(text, in: token) }
            return [try targets.hostName(token, host: host, port: port ?? defaultPort)]
        }
        return try resolvConfUpstreams(
            path: String(afterScheme), token: token, transport: transport, defaultPort: defaultPort,
            hasServerName: serverName != nil)
    }

    private func scheme(
        of token: CorefileToken
    ) throws(ConfigurationError) -> (UpstreamTransport, Int, Substring) {
        let text = token.text
        guard let separator = text.firstRange(of: "://") else {
            switch mode {
            case .forward: return (.dns, UpstreamTransport.dns.defaultPort, Substring(text))
            case .grpc: return (.grpc, UpstreamTransport.dns.defaultPort, Substring(text))
            case .proxy(let transport): return (transport, UpstreamTransport.dns.defaultPort, Substring(text))
            }
        }
        let name = text[..<separator.lowerBound].lowercased()
        let rest = text[separator.upperBound...]
        switch (mode, name) {
        case (.forward, "dns"): return (.dns, 53, rest)
        case (.forward, "tls"): return (.tls, 853, rest)
        case (.forward, "grpc"): return (.grpc, 443, rest)
        case (.forward, "https"): return (.https, 443, rest)
        case (.forward, _):
            throw ConfigurationError(
                at: token.location, "unsupported upstream scheme '\(name)' in '\(text)'",
                expected: "dns://, tls://, grpc:// or https://")
        case (.grpc, "dns"): return (.grpc, 53, rest)
        case (.grpc, "grpc"): return (.grpc, 443, rest)
        case (.grpc, _):
            throw ConfigurationError(
                at: token.location, "unsupported upstream scheme '\(name)' for grpc in '\(text)'",
                expected: "grpc:// or no scheme")
        case (.proxy(let transport), "dns"): return (transport, 53, rest)
        case (.proxy, _):
            throw ConfigurationError(
                at: token.location, "unsupported upstream scheme '\(name)' for proxy in '\(text)'",
                expected: "no scheme (proxy chooses the protocol with 'protocol dns' or 'protocol grpc')")
        }
    }

    private func upstreamPort(_ text: Substring, in token: CorefileToken) throws(ConfigurationError) -> Int {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(text),
              (1...65535).contains(port) else {
            throw ConfigurationError(
                at: token.location, "bad port '\(text)' in upstream '\(token.text)'",
                expected: "a port number from 1 to 65535")
        }
        return port
    }

    private func notAnAddress(_ token: CorefileToken) -> ConfigurationError {
        ConfigurationError(
            at: token.location, "upstream '\(token.text)' is not an IP address or an existing file",
            expected: "IP[:PORT], [IPv6]:PORT, tls://IP[#NAME][:PORT], grpc://IP[:PORT] or a resolv.conf path")
    }

    private func resolvConfUpstreams(
        path: String, token: CorefileToken, transport: UpstreamTransport, defaultPort: Int, hasServerName: Bool
    ) throws(ConfigurationError) -> [UpstreamAddress] {
        let absolute = FileProbe.absolute(path, relativeTo: context.workingDirectory)
        guard !path.isEmpty, FileProbe.status(of: absolute) == .readableFile, let text = FileProbe.text(of: absolute)
        else { throw notAnAddress(token) }
        if hasServerName {
            throw ConfigurationError(
                at: token.location, "upstream '\(token.text)' is a file and cannot carry a TLS server name",
                expected: "'#NAME' only after an IP address")
        }
        let servers = ResolvConf.nameservers(in: text)
        guard !servers.isEmpty else {
            throw ConfigurationError(
                at: token.location, "resolv.conf file '\(path)' has no nameserver lines",
                expected: "at least one 'nameserver IP' line")
        }
        var upstreams: [UpstreamAddress] = []
        for server in servers {
            guard IPAddressText(server.address) != nil else {
                throw ConfigurationError(
                    at: token.location,
                    "resolv.conf file '\(path)' line \(server.line) names '\(server.address)', which is not an IP address",
                    expected: "'nameserver IP' lines")
            }
            upstreams.append(UpstreamAddress(transport: transport, host: server.address, port: defaultPort))
        }
        return upstreams
    }
}
