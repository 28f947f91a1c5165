/// `timeouts { read DURATION; write DURATION; idle DURATION }`: CoreDNS's timeouts for a TCP or DoT listener's
/// connections. Each one not given keeps the listener's default (see `DNSListener.Settings`).
public struct TimeoutsConfiguration: Sendable, Hashable {
    /// How long a DNS message may take to arrive whole from its first byte (CoreDNS's read timeout).
    public var read: Duration?
    /// How long a client may leave its replies unread before the connection is closed (the write timeout).
    public var write: Duration?
    /// How long a connection may sit with nothing in flight and nothing read.
    public var idle: Duration?

    /// Creates the setting.
    public init(read: Duration? = nil, write: Duration? = nil, idle: Duration? = nil) {
        self.read = read
        self.write = write
        self.idle = idle
    }

    /// CoreDNS's bounds for each timeout.
    static let allowed = Duration.seconds(1)...Duration.seconds(24 * 3600)
    private static let usage = "timeouts { read DURATION; write DURATION; idle DURATION }"

    static func parse(_ line: CorefileLine) throws(ConfigurationError) -> TimeoutsConfiguration {
        try line.requireArguments(0...0, usage: usage)
        var timeouts = TimeoutsConfiguration()
        for option in line.block {
            guard ["read", "write", "idle"].contains(option.name) else {
                throw option.unknownOption(in: "timeouts", expected: ["read", "write", "idle"])
            }
            let value = try ForwarderOptions.single(option, usage: "\(option.name) DURATION")
            let duration = try OptionValue.duration(value, for: "timeouts \(option.name)")
            guard allowed.contains(duration) else {
                throw ConfigurationError(
                    at: value.location, "timeouts \(option.name) '\(value.text)' is out of range",
                    expected: "a duration from 1s to 24h")
            }
            switch option.name {
            case "read": timeouts.read = duration
            case "write": timeouts.write = duration
            default: timeouts.idle = duration
            }
        }
        guard timeouts != TimeoutsConfiguration() else {
            throw line.error("timeouts sets no timeout", expected: "at least one of read, write, idle in a block: '\(usage)'")
        }
        return timeouts
    }
}
