/// Reads `forward FROM TO... { options }` as CoreDNS's forward plugin does, plus our `least_conn`, `weighted`
/// (with `weights`), `first` policies and per-upstream TLS server names.
///
/// `weights W1 W2 ...` gives one integer from 0 per upstream (0: failover only; at least one positive), in order,
/// after resolv.conf files are expanded; it requires `policy weighted`, and `policy weighted` without `weights` weighs every upstream 1.
enum ForwardDirectiveParser {
    static let usage = "forward FROM TO... [{ options }]"
    static let options = [
        "doh_method", "except", "expire", "failfast_all_unhealthy_upstreams", "force_tcp", "health_check",
        "max_concurrent",
        "max_fails", "max_idle_conns", "multiplex_udp", "next", "policy", "prefer_udp", "tls", "tls_servername",
        "weights",
    ]
    static let policies: KeyValuePairs<String, UpstreamPolicy> = [
        "random": .random, "round_robin": .roundRobin, "sequential": .sequential, "least_conn": .leastConn,
        "weighted": .weighted, "first": .sequential, "least_outstanding": .leastOutstanding,
    ]

    static func parse(_ line: CorefileLine, context: DirectiveContext) throws(ConfigurationError) -> ForwardConfiguration {
        let (from, to) = try ForwarderOptions.fromAndTo(line, usage: usage)
        var forward = ForwardConfiguration(kind: .forward, from: from, upstreams: [], location: line.location)
        var serverName: String?
        var weightsOption: CorefileLine?
        let maximumCount = Int(UInt32.max)

        for option in line.block {
            switch option.name {
            case "except":
                forward.except += try ForwarderOptions.except(option)
            case "force_tcp":
                try ForwarderOptions.flag(option)
                forward.forceTCP = true
            case "prefer_udp":
                try ForwarderOptions.flag(option)
                forward.preferUDP = true
            case "multiplex_udp":
                try ForwarderOptions.flag(option)
                forward.multiplexUDP = true
            case "failfast_all_unhealthy_upstreams":
                try ForwarderOptions.flag(option)
                forward.failfastAllUnhealthyUpstreams = true
            case "expire":
                let value = try ForwarderOptions.single(option, usage: "expire DURATION")
                forward.expire = try OptionValue.duration(value, for: "expire")
            case "max_fails":
                let value = try ForwarderOptions.single(option, usage: "max_fails INTEGER")
                forward.maxFails = try OptionValue.integer(
                    value, for: "max_fails", in: 0...maximumCount, expected: "a non-negative integer")
            case "max_idle_conns":
                let value = try ForwarderOptions.single(option, usage: "max_idle_conns INTEGER")
                forward.maxIdleConns = try OptionValue.integer(
                    value, for: "max_idle_conns", in: 0...maximumCount, expected: "a non-negative integer")
            case "max_concurrent":
                let value = try ForwarderOptions.single(option, usage: "max_concurrent INTEGER")
                forward.maxConcurrent = try OptionValue.integer(
                    value, for: "max_concurrent", in: 0...maximumCount, expected: "a non-negative integer")
            case "tls":
                forward.tls = try TLSArgumentParser.client(option, context: context)
                forward.tlsLocation = option.location
            case "doh_method":
                let value = try ForwarderOptions.single(option, usage: "doh_method GET|POST")
                guard let method = DoHUpstreamTransport.Method(rawValue: value.text.uppercased()) else {
                    throw ConfigurationError(at: value.location, "doh_method '\(value.text)'", expected: "GET or POST")
                }
                forward.dohMethod = method
            case "tls_servername":
                let value = try ForwarderOptions.single(option, usage: "tls_servername NAME")
                serverName = try OptionValue.hostName(value, text: value.text, for: "tls_servername")
            case "policy":
                forward.policy = try ForwarderOptions.policy(option, directive: "forward", allowed: policies)
            case "health_check":
                forward.healthCheck = try healthCheck(option)
            case "next":
                forward.nextRcodes = try nextRcodes(option)
            case "weights":
                try option.requireArguments(1...Int.max, usage: "weights W1 W2 ...")
                try option.requireNoBlock(usage: "weights W1 W2 ...")
                weightsOption = option
            default:
                guard try MeshOptionParser.parse(option, into: &forward.mesh) else {
                    throw option.unknownOption(in: "forward", expected: options + MeshOptionParser.options)
                }
            }
        }

        let parser = UpstreamAddressParser(mode: .forward, context: context)
        forward.upstreams = try ForwarderOptions.upstreams(to, line: line, parser: parser)
        forward.tls.serverName = serverName
        if let serverName, let named = forward.upstreams.first(where: { $0.tlsServerName != nil }) {
            throw line.error(
                "both tls_servername '\(serverName)' and upstream \(named) name a TLS server",
                expected: "either tls_servername or per-upstream '#NAME', not both")
        }
        forward.weights = try weights(weightsOption, policy: forward.policy, upstreamCount: forward.upstreams.count, line: line)
        return forward
    }

    /// `health_check DURATION [no_rec] [domain NAME]`.
    private static func healthCheck(_ option: CorefileLine) throws(ConfigurationError) -> ForwardConfiguration.HealthCheck {
        let usage = "health_check DURATION [no_rec] [domain NAME]"
        try option.requireArguments(1...4, usage: usage)
        try option.requireNoBlock(usage: usage)
        var check = ForwardConfiguration.HealthCheck()
        check.interval = try OptionValue.duration(option.arguments[0], for: "health_check")
        var index = 1
        while index < option.arguments.count {
            let argument = option.arguments[index]
            switch argument.text {
            case "no_rec":
                check.recursionDesired = false
            case "domain":
                guard index + 1 < option.arguments.count else {
                    throw ConfigurationError(at: argument.location, "health_check domain has no name", expected: "'\(usage)'")
                }
                index += 1
                check.domain = try OptionValue.zone(option.arguments[index], for: "health_check domain")
            default:
                throw ConfigurationError(
                    at: argument.location, "unknown health_check argument '\(argument.text)'",
                    expected: "no_rec or domain NAME after the duration")
            }
            index += 1
        }
        return check
    }

    /// `next RCODE...`.
    private static func nextRcodes(_ option: CorefileLine) throws(ConfigurationError) -> [Int] {
        try option.requireArguments(1...Int.max, usage: "next RCODE...")
        try option.requireNoBlock(usage: "next RCODE...")
        var codes: [Int] = []
        for argument in option.arguments {
            guard let code = ResponseCodeName.value(of: argument.text) else {
                throw ConfigurationError(
                    at: argument.location, "'\(argument.text)' is not a response code",
                    expected: "names such as NXDOMAIN, SERVFAIL or REFUSED")
            }
            codes.append(code)
        }
        return codes
    }

    private static func weights(
        _ option: CorefileLine?, policy: UpstreamPolicy, upstreamCount: Int, line: CorefileLine
    ) throws(ConfigurationError) -> [Int] {
        guard policy == .weighted else {
            if let option {
                throw option.error("weights are given but the policy is \(policy)", expected: "'policy weighted' with weights")
            }
            return []
        }
        guard let option else { return Array(repeating: 1, count: upstreamCount) }
        guard option.arguments.count == upstreamCount else {
            throw option.error(
                "weights has \(option.arguments.count) values for \(upstreamCount) upstreams",
                expected: "one weight per upstream (\(upstreamCount))")
        }
        var weights: [Int] = []
        for argument in option.arguments {
            // 0 is allowed: such an upstream only ever serves as failover.
            weights.append(try OptionValue.integer(argument, for: "weight", in: 0...1_000_000, expected: "an integer from 0 to 1000000"))
        }
        guard weights.contains(where: { $0 > 0 }) else {
            throw option.error("every weight is 0", expected: "at least one positive weight")
        }
        return weights
    }
}
