/// The parts forward, grpc and proxy share: `FROM TO...`, `except`, `policy`, and the upstream limit.
enum ForwarderOptions {
    /// `FROM` normalized and the `TO` tokens; fails without at least one `TO`.
    static func fromAndTo(
        _ line: CorefileLine, usage: String
    ) throws(ConfigurationError) -> (from: String, to: [CorefileToken]) {
        guard line.arguments.count >= 2 else {
            throw line.error("\(line.name) needs FROM and at least one TO", expected: "'\(usage)'")
        }
        let from = try OptionValue.zone(line.arguments[0], for: "\(line.name) FROM")
        return (from, Array(line.arguments.dropFirst()))
    }

    /// Every upstream of `to`, files expanded; fails above CoreDNS's limit of 15.
    static func upstreams(
        _ to: [CorefileToken], line: CorefileLine, parser: UpstreamAddressParser
    ) throws(ConfigurationError) -> [UpstreamAddress] {
        var upstreams: [UpstreamAddress] = []
        for token in to {
            upstreams += try parser.parse(token)
        }
        if upstreams.count > ForwardConfiguration.maximumUpstreams {
            throw line.error(
                "\(line.name) has \(upstreams.count) upstreams",
                expected: "at most \(ForwardConfiguration.maximumUpstreams) upstreams per \(line.name)")
        }
        return upstreams
    }

    /// `except NAMES...`, normalized.
    static func except(_ option: CorefileLine) throws(ConfigurationError) -> [String] {
        try option.requireArguments(1...Int.max, usage: "except NAMES...")
        try option.requireNoBlock(usage: "except NAMES...")
        var names: [String] = []
        for argument in option.arguments {
            names.append(try OptionValue.zone(argument, for: "except name"))
        }
        return names
    }

    /// `policy NAME` from the names `allowed` (Corefile spelling to policy).
    static func policy(
        _ option: CorefileLine, directive: String, allowed: KeyValuePairs<String, UpstreamPolicy>
    ) throws(ConfigurationError) -> UpstreamPolicy {
        let names = allowed.map(\.key)
        let usage = "policy " + names.joined(separator: "|")
        try option.requireArguments(1...1, usage: usage)
        try option.requireNoBlock(usage: usage)
        let name = option.arguments[0].text
        guard let policy = allowed.first(where: { $0.key == name })?.value else {
            throw ConfigurationError(
                at: option.arguments[0].location, "unknown policy '\(name)' for \(directive)",
                expected: "one of " + names.joined(separator: ", "))
        }
        return policy
    }

    /// An option that takes no arguments and no block (`force_tcp`, `spray`).
    static func flag(_ option: CorefileLine) throws(ConfigurationError) {
        try option.requireArguments(0...0, usage: option.name)
        try option.requireNoBlock(usage: option.name)
    }

    /// An option with exactly one argument and no block; returns the argument.
    static func single(_ option: CorefileLine, usage: String) throws(ConfigurationError) -> CorefileToken {
        try option.requireArguments(1...1, usage: usage)
        try option.requireNoBlock(usage: usage)
        return option.arguments[0]
    }
}
