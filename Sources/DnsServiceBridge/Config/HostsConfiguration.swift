/// `hosts [FILE [ZONES...]] { INLINE... fallthrough [ZONES...] ttl SECONDS reload DURATION no_reverse }`:
/// answer from a hosts file and inline entries.
public struct HostsConfiguration: Sendable, Hashable {
    /// One inline `ADDRESS NAME...` line.
    public struct Entry: Sendable, Hashable {
        /// The IP address as written.
        public var address: String
        /// The names, normalized.
        public var names: [String]

        /// Creates an entry.
        public init(address: String, names: [String]) {
            self.address = address
            self.names = names
        }
    }

    /// The file read when none is named.
    public static let defaultFile = "/etc/hosts"
    /// CoreDNS's default answer TTL in seconds.
    public static let defaultTTL = 3600
    /// CoreDNS's default re-read interval.
    public static let defaultReload = Duration.seconds(5)

    /// The hosts file, absolute; it need not exist yet (CoreDNS only warns).
    public var file: String
    /// The zones answered from it, normalized; the server block's zones when none are given.
    public var zones: [String]
    /// Inline entries from the block, in order.
    public var entries: [Entry]
    /// Zones where a name not found goes on to the next plugin; nil when not set, `["."]` for all zones.
    public var fallthroughZones: [String]?
    /// The TTL of answers in seconds.
    public var ttl: Int
    /// How often the file is re-read; 0 disables re-reading.
    public var reload: Duration
    /// Whether PTR records are made from the entries (`no_reverse` turns it off).
    public var autoReverse: Bool

    /// Creates the setting with CoreDNS's defaults.
    public init(
        file: String = HostsConfiguration.defaultFile, zones: [String], entries: [Entry] = [],
        fallthroughZones: [String]? = nil, ttl: Int = HostsConfiguration.defaultTTL,
        reload: Duration = HostsConfiguration.defaultReload, autoReverse: Bool = true
    ) {
        self.file = file
        self.zones = zones
        self.entries = entries
        self.fallthroughZones = fallthroughZones
        self.ttl = ttl
        self.reload = reload
        self.autoReverse = autoReverse
    }

    static let options = ["fallthrough", "no_reverse", "reload", "ttl"]

    static func parse(_ line: CorefileLine, context: inout DirectiveContext) throws(ConfigurationError) -> HostsConfiguration {
        var hosts = HostsConfiguration(zones: context.blockZones)
        if let fileToken = line.arguments.first {
            hosts.file = FileProbe.absolute(fileToken.text, relativeTo: context.workingDirectory)
            if let problem = FileProbe.status(of: hosts.file).problem {
                context.warnings.append(ConfigurationWarning(at: fileToken.location, "hosts file '\(fileToken.text)' \(problem)"))
            }
            if line.arguments.count > 1 {
                var zones: [String] = []
                for argument in line.arguments.dropFirst() {
                    zones.append(try OptionValue.zone(argument, for: "hosts zone"))
                }
                hosts.zones = zones
            }
        }

        for option in line.block {
            switch option.name {
            case "fallthrough":
                try option.requireNoBlock(usage: "fallthrough [ZONES...]")
                var zones: [String] = []
                for argument in option.arguments {
                    zones.append(try OptionValue.zone(argument, for: "fallthrough zone"))
                }
                hosts.fallthroughZones = zones.isEmpty ? ["."] : zones
            case "no_reverse":
                try ForwarderOptions.flag(option)
                hosts.autoReverse = false
            case "ttl":
                let value = try ForwarderOptions.single(option, usage: "ttl SECONDS")
                hosts.ttl = try OptionValue.integer(value, for: "ttl", in: 1...65535, expected: "a number of seconds from 1 to 65535")
            case "reload":
                let value = try ForwarderOptions.single(option, usage: "reload DURATION")
                hosts.reload = try OptionValue.duration(value, for: "reload")
            default:
                hosts.entries.append(try inlineEntry(option, fallthroughSeen: hosts.fallthroughZones != nil))
            }
        }
        return hosts
    }

    /// A block line that is no option: an inline `ADDRESS NAME...` entry, allowed only before `fallthrough`.
    private static func inlineEntry(_ option: CorefileLine, fallthroughSeen: Bool) throws(ConfigurationError) -> Entry {
        guard IPAddressText.isAddress(option.name) else {
            throw option.error(
                "unknown option '\(option.name)' in hosts",
                expected: "an inline 'ADDRESS NAME...' entry or one of " + options.joined(separator: ", "))
        }
        guard !fallthroughSeen else {
            throw option.error(
                "inline hosts entry for \(option.name) comes after fallthrough",
                expected: "inline entries before fallthrough, as CoreDNS reads them only there")
        }
        try option.requireNoBlock(usage: "ADDRESS NAME...")
        guard !option.arguments.isEmpty else {
            throw option.error("inline hosts entry for \(option.name) has no names", expected: "'ADDRESS NAME...'")
        }
        var names: [String] = []
        for argument in option.arguments {
            if let problem = ZoneName.problem(inName: argument.text) {
                throw ConfigurationError(
                    at: argument.location, "bad host name '\(argument.text)': \(problem)", expected: "a domain name")
            }
            names.append(ZoneName.normalize(argument.text))
        }
        return Entry(address: option.name, names: names)
    }
}
