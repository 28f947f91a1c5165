/// Reads the gRPC upstreams that gRPC core resolves itself, beyond IP addresses:
/// - a unix-domain socket: `unix:///path` (the form of CoreDNS's grpc plugin), `unix:/path` or `grpc://unix:/path`;
///   a relative path is taken from the Corefile's directory;
/// - a name resolved by gRPC core's DNS resolver, with round_robin over every address: `dns:///NAME[:PORT]`,
///   `dns://RESOLVER[:PORT]/NAME[:PORT]` (a resolver of its own), or a host name, `grpc://NAME[:PORT]` (port 443)
///   and in `grpc` `NAME[:PORT]` (port 53). gRPC core resolves such a name again when a connection to one of its
///   addresses fails.
struct GRPCTargetParser {
    let context: DirectiveContext

    /// The upstream `text` names when it is a unix socket or a `dns:` target; nil for anything else.
    func special(_ token: CorefileToken, transport: UpstreamTransport, text: Substring)
        throws(ConfigurationError) -> UpstreamAddress? {
        let lowered = text.lowercased()
        if lowered.hasPrefix("unix:") {
            return try unixSocket(token, path: text.dropFirst(5))
        }
        if lowered.hasPrefix("dns:"), transport == .grpc {
            return try resolverName(token, text: text)
        }
        return nil
    }

    /// A host name and port (`name.example:8053`) that is not an IP address, as a `dns:///` target.
    func hostName(_ token: CorefileToken, host: Substring, port: Int) throws(ConfigurationError) -> UpstreamAddress {
        let name = try Self.checkedName(token, String(host))
        return UpstreamAddress(transport: .grpc, host: name, port: port, resolverTarget: "dns:///\(name):\(port)")
    }

    private func unixSocket(_ token: CorefileToken, path: Substring) throws(ConfigurationError) -> UpstreamAddress {
        let absolute = try UnixSocketPath.absolute(
            path, relativeTo: context.workingDirectory, in: token,
            noPath: ConfigurationError(at: token.location, "upstream '\(token.text)' names no socket path",
                                       expected: "unix:///PATH, such as unix:///run/dnsgrpcd.sock"))
        return UpstreamAddress(transport: .grpc, host: absolute, port: 0, resolverTarget: "unix:\(absolute)")
    }

    /// `dns:[//[RESOLVER]]/NAME[:PORT]`: gRPC core takes it as written once the name and port are checked.
    private func resolverName(_ token: CorefileToken, text: Substring) throws(ConfigurationError) -> UpstreamAddress {
        var rest = text.dropFirst(4)
        var resolver = ""
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            guard let slash = rest.firstIndex(of: "/") else { throw badTarget(token) }
            resolver = String(rest[..<slash])
            rest = rest[rest.index(after: slash)...]
        }
        var name = rest
        var port = UpstreamTransport.grpc.defaultPort
        if let colon = rest.lastIndex(of: ":") {
            name = rest[..<colon]
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else {
                throw badTarget(token)
            }
            port = number
        }
        guard !name.isEmpty else { throw badTarget(token) }
        let host = try Self.checkedName(token, String(name))
        return UpstreamAddress(transport: .grpc, host: host, port: port,
                               resolverTarget: "dns://\(resolver)/\(host):\(port)")
    }

    /// A name a resolver can look up: letters, digits, `-` and `_` in labels that are not empty.
    private static func checkedName(_ token: CorefileToken, _ name: String) throws(ConfigurationError) -> String {
        let labels = (name.hasSuffix(".") ? String(name.dropLast()) : name).split(separator: ".",
                                                                                 omittingEmptySubsequences: false)
        guard name.utf8.count <= 253, labels.allSatisfy({ label in
            (1...63).contains(label.utf8.count)
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        }) else {
            throw ConfigurationError(at: token.location, "bad gRPC upstream name '\(name)'",
                                     expected: "a host name such as resolver.dns.svc.cluster.local")
        }
        return name
    }

    private func badTarget(_ token: CorefileToken) -> ConfigurationError {
        ConfigurationError(at: token.location, "upstream '\(token.text)' is not a gRPC name target",
                           expected: "dns:///NAME[:PORT] or dns://RESOLVER[:PORT]/NAME[:PORT]")
    }
}
