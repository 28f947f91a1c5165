/// Reads `cache [TTL] [ZONES...] { ... }` with the checks and messages of CoreDNS's cache setup.
enum CacheDirectiveParser {
    static let usage = "cache [TTL] [ZONES...]"
    static let options = ["denial", "disable", "keepttl", "prefetch", "serve_stale", "servfail", "success"]

    static func parse(_ line: CorefileLine, context: DirectiveContext) throws(ConfigurationError)
        -> CacheConfiguration {
        var arguments = line.arguments[...]
        var cache = CacheConfiguration(zones: context.blockZones)
        // As in CoreDNS, a first argument that is a number is the TTL; anything else is a zone.
        if let first = arguments.first, Int(first.text) != nil {
            cache.ttl = try OptionValue.integer(first, for: "cache TTL", in: 1...Int(Int32.max),
                                                expected: "a TTL of at least 1 second")
            arguments = arguments.dropFirst()
        }
        if !arguments.isEmpty {
            cache.zones = try arguments.map { token throws(ConfigurationError) in
                try OptionValue.zone(token, for: "cache zone")
            }
        }
        for option in line.block {
            try option.requireNoBlock(usage: option.name)
            switch option.name {
            case "success": cache.success = try category(option, keeping: cache.success)
            case "denial": cache.denial = try category(option, keeping: cache.denial)
            case "prefetch": cache.prefetch = try prefetch(option)
            case "serve_stale": cache.serveStale = try serveStale(option)
            case "servfail":
                let value = try ForwarderOptions.single(option, usage: "servfail DURATION")
                let duration = try OptionValue.duration(value, for: "servfail")
                // RFC 2308 forbids caching SERVFAIL for longer.
                guard duration <= .seconds(300) else {
                    throw ConfigurationError(at: value.location, "servfail \(value.text) is over 5 minutes",
                                             expected: "a duration of at most 5m (RFC 2308)")
                }
                cache.servfail = duration
            case "disable":
                try option.requireArguments(1...Int.max, usage: "disable success|denial [ZONES...]")
                let zones = option.arguments.count == 1 ? ["."]
                    : try option.arguments.dropFirst().map { token throws(ConfigurationError) in
                        try OptionValue.zone(token, for: "disable zone")
                    }
                switch option.arguments[0].text {
                case "success": cache.success.disabledZones = zones
                case "denial": cache.denial.disabledZones = zones
                default:
                    throw ConfigurationError(at: option.arguments[0].location,
                                             "cache type '\(option.arguments[0].text)' for disable",
                                             expected: "success or denial")
                }
            case "keepttl":
                try ForwarderOptions.flag(option)
                cache.keepTTL = true
            default:
                throw option.unknownOption(in: "cache", expected: options)
            }
        }
        return cache
    }

    /// `success|denial CAPACITY [TTL] [MINTTL]`.
    private static func category(_ option: CorefileLine, keeping old: CacheConfiguration.Category)
        throws(ConfigurationError) -> CacheConfiguration.Category {
        try option.requireArguments(1...3, usage: "\(option.name) CAPACITY [TTL] [MINTTL]")
        var category = old
        let arguments = option.arguments
        category.capacity = try OptionValue.integer(arguments[0], for: "\(option.name) capacity",
                                                    in: 0...Int(Int32.max), expected: "a number of entries")
        if arguments.count > 1 {
            category.maximumTTL = try OptionValue.integer(arguments[1], for: "\(option.name) TTL",
                                                          in: 1...Int(Int32.max),
                                                          expected: "a TTL of at least 1 second")
        }
        if arguments.count > 2 {
            category.minimumTTL = try OptionValue.integer(arguments[2], for: "\(option.name) MINTTL",
                                                          in: 0...Int(Int32.max),
                                                          expected: "a minimum TTL of 0 seconds or more")
        }
        return category
    }

    /// `prefetch AMOUNT [[DURATION] [PERCENTAGE%]]`.
    private static func prefetch(_ option: CorefileLine) throws(ConfigurationError) -> CacheConfiguration.Prefetch {
        try option.requireArguments(1...3, usage: "prefetch AMOUNT [[DURATION] [PERCENTAGE%]]")
        let arguments = option.arguments
        var prefetch = CacheConfiguration.Prefetch(
            amount: try OptionValue.integer(arguments[0], for: "prefetch amount", in: 0...Int(Int32.max),
                                            expected: "a number of queries, 0 or more"))
        if arguments.count > 1 {
            prefetch.window = try OptionValue.duration(arguments[1], for: "prefetch")
        }
        if arguments.count > 2 {
            let token = arguments[2]
            guard token.text.hasSuffix("%"), let percentage = Int(token.text.dropLast()) else {
                throw ConfigurationError(at: token.location, "prefetch percentage '\(token.text)'",
                                         expected: "a percentage with its sign, such as 10%")
            }
            guard (10...90).contains(percentage) else {
                throw ConfigurationError(at: token.location, "prefetch percentage \(percentage)% is out of range",
                                         expected: "a percentage from 10% to 90%")
            }
            prefetch.percentage = percentage
        }
        return prefetch
    }

    /// `serve_stale [DURATION] [immediate|verify]`.
    private static func serveStale(_ option: CorefileLine) throws(ConfigurationError)
        -> CacheConfiguration.ServeStale {
        try option.requireArguments(0...2, usage: "serve_stale [DURATION] [immediate|verify]")
        var stale = CacheConfiguration.ServeStale()
        let arguments = option.arguments
        if let first = arguments.first { stale.upTo = try OptionValue.duration(first, for: "serve_stale") }
        if arguments.count > 1 {
            guard let mode = CacheConfiguration.ServeStale.RefreshMode(rawValue: arguments[1].text.lowercased())
            else {
                throw ConfigurationError(at: arguments[1].location,
                                         "serve_stale refresh mode '\(arguments[1].text)'",
                                         expected: "immediate or verify")
            }
            stale.mode = mode
        }
        return stale
    }
}
