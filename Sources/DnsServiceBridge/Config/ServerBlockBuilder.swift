/// Gives meaning to the lines of one server block: reads its keys and runs each directive's parser.
struct ServerBlockBuilder {
    /// Every directive this daemon understands, for the "expected one of" of an unknown one.
    static let directives = [
        "bind", "cache", "errors", "forward", "grpc", "health", "hosts", "limits", "loadbalance", "log", "loop",
        "prometheus", "proxy", "ratelimit", "ready", "reflection", "reload", "timeouts", "tls", "trusted_proxies",
        "unix_socket", "whoami",
    ]
    /// Directives CoreDNS allows once per server block (and ours: `limits`, `reflection`, `trusted_proxies`, `unix_socket`).
    static let onceOnly: Set<String> = [
        "cache", "errors", "grpc", "health", "hosts", "limits", "loadbalance", "loop", "prometheus", "ratelimit",
        "ready", "reflection", "reload", "timeouts", "tls", "trusted_proxies", "unix_socket", "whoami",
    ]

    let defaultDNSPort: Int
    let workingDirectory: String

    /// The block's configuration, its key locations (for duplicate messages) and the warnings it raised.
    func build(
        _ block: CorefileServerBlock
    ) throws(ConfigurationError) -> (ServerBlockConfiguration, [SourceLocation], [ConfigurationWarning]) {
        let keyParser = ListenAddressParser(defaultDNSPort: defaultDNSPort, workingDirectory: workingDirectory)
        var keys: [ListenAddress] = []
        var keyLocations: [SourceLocation] = []
        for key in block.keys {
            keys.append(try keyParser.parse(key))
            keyLocations.append(key.location)
        }
        var server = ServerBlockConfiguration(keys: keys, location: block.location)
        var context = DirectiveContext(workingDirectory: workingDirectory, blockZones: server.zones)
        var seen: [String: SourceLocation] = [:]
        var forwards: [ForwardConfiguration] = []
        var proxies: [ForwardConfiguration] = []
        var grpc: [ForwardConfiguration] = []

        for line in block.lines {
            if Self.onceOnly.contains(line.name), let first = seen[line.name] {
                throw line.error(
                    "\(line.name) is given twice in one server block (first at \(first))",
                    expected: "at most one \(line.name) per server block")
            }
            seen[line.name] = seen[line.name] ?? line.location

            switch line.name {
            case "bind":
                try bind(line, into: &server)
            case "cache":
                server.cache = try CacheDirectiveParser.parse(line, context: context)
            case "errors":
                server.errors = try ErrorsConfiguration.parse(line)
            case "forward":
                forwards.append(try ForwardDirectiveParser.parse(line, context: context))
            case "grpc":
                grpc.append(try GRPCDirectiveParser.parse(line, context: context))
            case "health":
                server.health = try HealthConfiguration.parse(line)
            case "hosts":
                server.hosts = try HostsConfiguration.parse(line, context: &context)
            case "limits":
                server.limits = try LimitsConfiguration.parse(line)
            case "loadbalance":
                try line.requireArguments(0...1, usage: "loadbalance [round_robin]")
                try line.requireNoBlock(usage: "loadbalance [round_robin]")
                if let policy = line.arguments.first, policy.text != "round_robin" {
                    throw ConfigurationError(at: policy.location, "unknown loadbalance policy '\(policy.text)'",
                                             expected: "round_robin (the only policy)")
                }
                server.loadBalance = true
            case "log":
                server.log.append(try LogConfiguration.parse(line))
            case "loop":
                try line.requireArguments(0...0, usage: "loop")
                try line.requireNoBlock(usage: "loop")
                server.loop = true
            case "prometheus":
                server.prometheus = try PrometheusConfiguration.parse(line)
            case "proxy":
                proxies.append(try ProxyDirectiveParser.parse(line, context: &context))
            case "ratelimit":
                server.rateLimit = try RateLimitConfiguration.parse(line)
            case "ready":
                server.ready = try ReadyConfiguration.parse(line)
            case "reflection":
                server.reflection = try ReflectionDirectiveParser.parse(line)
            case "reload":
                server.reload = try ReloadConfiguration.parse(line)
            case "timeouts":
                server.timeouts = try TimeoutsConfiguration.parse(line)
            case "tls":
                server.tls = try TLSArgumentParser.server(line, context: context)
                server.tlsLocation = line.location
            case "trusted_proxies":
                server.trustedProxies = try TrustedProxies.parse(line)
            case "unix_socket":
                server.unixSocket = try UnixSocketPermissions.parse(line)
            case "whoami":
                try line.requireArguments(0...0, usage: "whoami")
                try line.requireNoBlock(usage: "whoami")
                server.whoami = true
            default:
                throw line.error(
                    "unknown directive '\(line.name)'",
                    expected: "one of " + Self.directives.joined(separator: ", "))
            }
        }
        server.forwarders = forwards + proxies + grpc

        // CoreDNS accepts this (its README has such an example) and then serves unencrypted TCP on the DoT
        // port; we accept it too and leave refusing to start such a listener to the daemon.
        if server.tls == nil, let index = keys.firstIndex(where: { $0.scheme == .tls }) {
            context.warnings.append(ConfigurationWarning(
                at: keyLocations[index],
                "server block key \(keys[index]) has no tls directive, so there is no certificate to serve DNS over TLS with"))
        }
        if let at = seen["reflection"], !keys.contains(where: { $0.scheme == .grpc }) {
            context.warnings.append(ConfigurationWarning(
                at: at, "reflection has no effect here: it applies to grpc:// listeners and this block has none"))
        }
        if server.bind.count > 0, server.listenHosts.isEmpty {
            throw ConfigurationError(
                at: block.location, "bind except leaves no address to listen on",
                expected: "at least one bind address that is not in except")
        }
        return (server, keyLocations, context.warnings)
    }

    /// `bind ADDRESS|IFACE... { except ADDRESS|IFACE... }`; several bind lines add up, as in CoreDNS.
    private func bind(_ line: CorefileLine, into server: inout ServerBlockConfiguration) throws(ConfigurationError) {
        try line.requireArguments(1...Int.max, usage: "bind ADDRESS|INTERFACE...")
        server.bind += try Self.bindTargets(line.arguments)
        for option in line.block {
            switch option.name {
            case "except":
                try option.requireArguments(1...Int.max, usage: "except ADDRESS|INTERFACE...")
                try option.requireNoBlock(usage: "except ADDRESS|INTERFACE...")
                server.bindExcept += try Self.bindTargets(option.arguments)
            default:
                throw option.unknownOption(in: "bind", expected: ["except"])
            }
        }
    }

    /// IP addresses as written, or interface names (resolved to addresses when listening, as CoreDNS does).
    private static func bindTargets(_ tokens: [CorefileToken]) throws(ConfigurationError) -> [String] {
        var targets: [String] = []
        for token in tokens {
            let text = token.text
            let looksLikeInterface = (1...15).contains(text.utf8.count)
                && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-@".contains($0)) }
            guard IPAddressText.isAddress(text) || looksLikeInterface else {
                throw ConfigurationError(
                    at: token.location, "bind '\(text)' is not an IP address or interface name",
                    expected: "IP addresses or interface names such as 127.0.0.1, ::1 or lo")
            }
            targets.append(text)
        }
        return targets
    }
}
