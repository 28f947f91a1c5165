/// Reads the legacy `proxy FROM TO... { options }` (CoreDNS up to 1.4) so old Corefiles keep working; the
/// result is a `ForwardConfiguration` of kind `.proxy`, and a warning recommends `forward`.
enum ProxyDirectiveParser {
    static let usage = "proxy FROM TO... [{ options }]"
    static let options = ["except", "fail_timeout", "health_check", "max_fails", "policy", "protocol", "spray"]
    static let policies: KeyValuePairs<String, UpstreamPolicy> = [
        "random": .random, "least_conn": .leastConn, "round_robin": .roundRobin, "sequential": .sequential,
        "first": .sequential,
    ]

    static func parse(_ line: CorefileLine, context: inout DirectiveContext) throws(ConfigurationError) -> ForwardConfiguration {
        let (from, to) = try ForwarderOptions.fromAndTo(line, usage: usage)
        var proxy = ForwardConfiguration(kind: .proxy, from: from, upstreams: [], location: line.location)
        var legacy = LegacyProxySettings()

        for option in line.block {
            switch option.name {
            case "policy":
                proxy.policy = try ForwarderOptions.policy(option, directive: "proxy", allowed: policies)
            case "fail_timeout":
                let value = try ForwarderOptions.single(option, usage: "fail_timeout DURATION")
                legacy.failTimeout = try OptionValue.duration(value, for: "fail_timeout")
            case "max_fails":
                let value = try ForwarderOptions.single(option, usage: "max_fails INTEGER")
                proxy.maxFails = try OptionValue.integer(
                    value, for: "max_fails", in: 0...Int(Int32.max), expected: "a non-negative integer")
            case "health_check":
                legacy.httpHealthCheck = try httpHealthCheck(option)
            case "except":
                proxy.except += try ForwarderOptions.except(option)
            case "spray":
                try ForwarderOptions.flag(option)
                legacy.spray = true
            case "protocol":
                try upstreamProtocol(option, into: &proxy, legacy: &legacy, context: context)
            default:
                throw option.unknownOption(in: "proxy", expected: options)
            }
        }

        proxy.legacyProxy = legacy
        let transport: UpstreamTransport = legacy.upstreamProtocol == .grpc ? .grpc : .dns
        let parser = UpstreamAddressParser(mode: .proxy(transport), context: context)
        proxy.upstreams = try ForwarderOptions.upstreams(to, line: line, parser: parser)
        let replacement = legacy.upstreamProtocol == .grpc ? "grpc" : "forward"
        context.warnings.append(ConfigurationWarning(
            at: line.location, "proxy is deprecated (removed in CoreDNS 1.5); use \(replacement) instead"))
        return proxy
    }

    /// `health_check PATH:PORT [DURATION]`.
    private static func httpHealthCheck(_ option: CorefileLine) throws(ConfigurationError) -> LegacyProxySettings.HTTPHealthCheck {
        let usage = "health_check PATH:PORT [DURATION]"
        try option.requireArguments(1...2, usage: usage)
        try option.requireNoBlock(usage: usage)
        let target = option.arguments[0]
        guard let colon = target.text.lastIndex(of: ":") else {
            throw ConfigurationError(at: target.location, "health_check '\(target.text)' has no port", expected: "'\(usage)', such as /health:8080")
        }
        let path = String(target.text[..<colon])
        let portText = target.text[target.text.index(after: colon)...]
        guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(portText), (1...65535).contains(port) else {
            throw ConfigurationError(
                at: target.location, "bad port '\(portText)' in health_check '\(target.text)'",
                expected: "a port number from 1 to 65535")
        }
        var check = LegacyProxySettings.HTTPHealthCheck(path: path, port: port)
        if option.arguments.count == 2 {
            check.interval = try OptionValue.duration(option.arguments[1], for: "health_check")
        }
        return check
    }

    /// `protocol dns [force_tcp]` or `protocol grpc [insecure | CACERT | KEY CERT | KEY CERT CACERT]`.
    private static func upstreamProtocol(
        _ option: CorefileLine, into proxy: inout ForwardConfiguration, legacy: inout LegacyProxySettings,
        context: DirectiveContext
    ) throws(ConfigurationError) {
        let usage = "protocol dns [force_tcp] | grpc [insecure | CACERT | KEY CERT | KEY CERT CACERT]"
        try option.requireArguments(1...4, usage: usage)
        try option.requireNoBlock(usage: usage)
        let arguments = Array(option.arguments.dropFirst())
        switch option.arguments[0].text {
        case "dns":
            legacy.upstreamProtocol = .dns
            if let extra = arguments.first {
                guard arguments.count == 1, extra.text == "force_tcp" else {
                    throw ConfigurationError(
                        at: extra.location, "unknown protocol dns argument '\(extra.text)'", expected: "only force_tcp")
                }
                proxy.forceTCP = true
            }
        case "grpc":
            legacy.upstreamProtocol = .grpc
            proxy.tls = try TLSArgumentParser.legacyProxyGRPC(arguments, option: option, context: context)
            proxy.tlsLocation = option.location
        default:
            throw ConfigurationError(
                at: option.arguments[0].location, "unknown protocol '\(option.arguments[0].text)'",
                expected: "dns or grpc")
        }
    }
}
