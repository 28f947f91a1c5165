/// Turns the file arguments of the Corefile's TLS options into TLS settings, checking each file is readable.
enum TLSArgumentParser {
    /// forward's and grpc's `tls [CERT KEY [CA]] | [CA]`: none = system CAs, one = CA, two = CERT KEY,
    /// three = CERT KEY CA (CoreDNS's `NewTLSConfigFromArgs`).
    static func client(_ option: CorefileLine, context: DirectiveContext) throws(ConfigurationError) -> TLSClientSettings {
        try option.requireArguments(0...3, usage: "tls [CERT KEY [CA]] or tls CA")
        try option.requireNoBlock(usage: "tls [CERT KEY [CA]] or tls CA")
        let files = try readableFiles(option.arguments, context: context, roles: roles(forCount: option.arguments.count))
        switch files.count {
        case 1: return TLSClientSettings(caFile: files[0])
        case 2: return TLSClientSettings(certFile: files[0], keyFile: files[1])
        case 3: return TLSClientSettings(caFile: files[2], certFile: files[0], keyFile: files[1])
        default: return .systemCAs
        }
    }

    /// proxy's `protocol grpc [insecure | CACERT | KEY CERT | KEY CERT CACERT]`; note the key comes first here.
    static func legacyProxyGRPC(
        _ arguments: [CorefileToken], option: CorefileLine, context: DirectiveContext
    ) throws(ConfigurationError) -> TLSClientSettings {
        let usage = "protocol grpc [insecure | CACERT | KEY CERT | KEY CERT CACERT]"
        if arguments.count == 1, arguments[0].text == "insecure" { return .insecure }
        guard arguments.count <= 3 else {
            throw option.error("protocol grpc has too many arguments (\(arguments.count))", expected: "'\(usage)'")
        }
        let roles: [String] = switch arguments.count {
        case 1: ["TLS CA file"]
        case 2: ["TLS key file", "TLS certificate file"]
        default: ["TLS key file", "TLS certificate file", "TLS CA file"]
        }
        let files = try readableFiles(arguments, context: context, roles: roles)
        switch files.count {
        case 1: return TLSClientSettings(caFile: files[0])
        case 2: return TLSClientSettings(certFile: files[1], keyFile: files[0])
        case 3: return TLSClientSettings(caFile: files[2], certFile: files[1], keyFile: files[0])
        default: return .systemCAs
        }
    }

    /// The server block's `tls CERT KEY [CA] { client_auth ... }`.
    static func server(_ line: CorefileLine, context: DirectiveContext) throws(ConfigurationError) -> TLSServerSettings {
        let usage = "tls CERT KEY [CA]"
        try line.requireArguments(2...3, usage: usage)
        let files = try readableFiles(line.arguments, context: context, roles: roles(forCount: line.arguments.count))
        var settings = TLSServerSettings(certFile: files[0], keyFile: files[1], clientCAFile: files.count == 3 ? files[2] : nil)
        for option in line.block {
            switch option.name {
            case "client_auth":
                let optionUsage = "client_auth nocert|request|require|verify_if_given|require_and_verify"
                try option.requireArguments(1...1, usage: optionUsage)
                try option.requireNoBlock(usage: optionUsage)
                guard let mode = TLSClientAuthentication(rawValue: option.arguments[0].text) else {
                    throw ConfigurationError(
                        at: option.arguments[0].location,
                        "unknown client_auth '\(option.arguments[0].text)'",
                        expected: "one of " + TLSClientAuthentication.allCases.map(\.rawValue).joined(separator: ", "))
                }
                settings.clientAuthentication = mode
            default:
                throw option.unknownOption(in: "tls", expected: ["client_auth"])
            }
        }
        return settings
    }

    private static func roles(forCount count: Int) -> [String] {
        switch count {
        case 1: ["TLS CA file"]
        case 2: ["TLS certificate file", "TLS key file"]
        default: ["TLS certificate file", "TLS key file", "TLS CA file"]
        }
    }

    private static func readableFiles(
        _ arguments: [CorefileToken], context: DirectiveContext, roles: [String]
    ) throws(ConfigurationError) -> [String] {
        var files: [String] = []
        for (argument, role) in zip(arguments, roles) {
            files.append(try OptionValue.readableFile(argument, what: role, context: context))
        }
        return files
    }
}
