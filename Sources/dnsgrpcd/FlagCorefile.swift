import DnsServiceBridge

/// Turns the quick-start flags (`--grpc`, `--dns`, `--upstream`) into the Corefile they stand for, so flags
/// and Corefiles go through one parser and one set of checks.
enum FlagCorefile {
    struct Error: Swift.Error, CustomStringConvertible {
        let description: String
    }

    /// One server block per listen flag, each forwarding `.` to every upstream: with the `grpc` directive when
    /// every upstream is `grpc://` (plaintext, as CoreDNS's grpc plugin defaults), else with `forward`.
    static func text(grpc: [String], dns: [String], upstreams: [String]) throws(Error) -> String {
        guard !upstreams.isEmpty else {
            throw Error(description: "--grpc and --dns need at least one --upstream to forward to")
        }
        let grpcPrefix = "grpc://"
        let allGRPC = upstreams.allSatisfy { $0.hasPrefix(grpcPrefix) }
        let directive = allGRPC
            ? "grpc . " + upstreams.map { String($0.dropFirst(grpcPrefix.count)) }.joined(separator: " ")
            : "forward . " + upstreams.joined(separator: " ")
        var text = ""
        for (scheme, address) in grpc.map({ ("grpc", $0) }) + dns.map({ ("dns", $0) }) {
            let (host, port) = try split(address, flag: "--\(scheme)")
            text += "\(scheme)://.:\(port) {\n"
            if !host.isEmpty { text += "    bind \(host)\n" }
            text += "    \(directive)\n}\n"
        }
        return text
    }

    /// `HOST:PORT`, `[V6]:PORT` or `:PORT` (all interfaces).
    private static func split(_ address: String, flag: String) throws(Error) -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65535).contains(port) else {
            throw Error(description: "\(flag) \(address): expected HOST:PORT, [IPV6]:PORT or :PORT")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}
