/// Reads `grpc FROM TO... { options }` as CoreDNS's grpc plugin does: every upstream speaks the gRPC DnsService,
/// plaintext unless `tls` (or `tls_servername`) is given. A `TO` without `grpc://` and without a port gets port
/// 53, as in CoreDNS.
enum GRPCDirectiveParser {
    static let usage = "grpc FROM TO... [{ options }]"
    static let options = ["except", "fallthrough", "policy", "tls", "tls_servername"]
    static let policies: KeyValuePairs<String, UpstreamPolicy> = [
        "random": .random, "round_robin": .roundRobin, "sequential": .sequential,
        "least_outstanding": .leastOutstanding,
    ]

    static func parse(_ line: CorefileLine, context: DirectiveContext) throws(ConfigurationError) -> ForwardConfiguration {
        let (from, to) = try ForwarderOptions.fromAndTo(line, usage: usage)
        var grpc = ForwardConfiguration(kind: .grpc, from: from, upstreams: [], location: line.location)
        var tls: TLSClientSettings?
        var serverName: String?

        for option in line.block {
            switch option.name {
            case "except":
                grpc.except += try ForwarderOptions.except(option)
            case "tls":
                tls = try TLSArgumentParser.client(option, context: context)
                grpc.tlsLocation = option.location
            case "tls_servername":
                let value = try ForwarderOptions.single(option, usage: "tls_servername NAME")
                serverName = try OptionValue.hostName(value, text: value.text, for: "tls_servername")
            case "policy":
                grpc.policy = try ForwarderOptions.policy(option, directive: "grpc", allowed: policies)
            case "fallthrough":
                try option.requireNoBlock(usage: "fallthrough [ZONES...]")
                var zones: [String] = []
                for argument in option.arguments {
                    zones.append(try OptionValue.zone(argument, for: "fallthrough zone"))
                }
                grpc.fallthroughZones = zones.isEmpty ? ["."] : zones
            default:
                guard try MeshOptionParser.parse(option, into: &grpc.mesh) else {
                    throw option.unknownOption(in: "grpc", expected: options + MeshOptionParser.options)
                }
            }
        }

        // CoreDNS: no tls option means plaintext; tls_servername alone means TLS with the system CAs.
        if tls == nil, serverName != nil { tls = .systemCAs }
        grpc.tls = tls ?? .insecure
        grpc.tls.serverName = serverName

        let parser = UpstreamAddressParser(mode: .grpc, context: context)
        grpc.upstreams = try ForwarderOptions.upstreams(to, line: line, parser: parser)
        if let named = grpc.upstreams.first(where: { $0.tlsServerName != nil }) {
            if grpc.tls.plaintext {
                throw line.error(
                    "upstream \(named) names a TLS server but this grpc has no tls option",
                    expected: "a 'tls' option in the grpc block, or no '#NAME'")
            }
            if let serverName {
                throw line.error(
                    "both tls_servername '\(serverName)' and upstream \(named) name a TLS server",
                    expected: "either tls_servername or per-upstream '#NAME', not both")
            }
        }
        return grpc
    }
}
