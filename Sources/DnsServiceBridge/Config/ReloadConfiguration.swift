/// `reload [INTERVAL [JITTER]]`: how often to check the Corefile for changes.
public struct ReloadConfiguration: Sendable, Hashable {
    /// CoreDNS's default interval, 30s.
    public static let defaultInterval = Duration.seconds(30)
    /// CoreDNS's default jitter, 15s.
    public static let defaultJitter = Duration.seconds(15)
    /// The shortest interval CoreDNS accepts, 2s.
    public static let minimumInterval = Duration.seconds(2)
    /// The shortest non-zero jitter CoreDNS accepts, 1s.
    public static let minimumJitter = Duration.seconds(1)

    /// The check interval, at least 2s.
    public var interval: Duration
    /// The most the interval is moved at random, 0 or at least 1s, at most half the interval (larger values are
    /// cut to half, as CoreDNS does).
    public var jitter: Duration

    /// Creates the setting.
    public init(interval: Duration = ReloadConfiguration.defaultInterval, jitter: Duration = ReloadConfiguration.defaultJitter) {
        self.interval = interval
        self.jitter = jitter
    }

    static func parse(_ line: CorefileLine) throws(ConfigurationError) -> ReloadConfiguration {
        try line.requireArguments(0...2, usage: "reload [INTERVAL [JITTER]]")
        try line.requireNoBlock(usage: "reload [INTERVAL [JITTER]]")
        var reload = ReloadConfiguration()
        if line.arguments.count > 0 {
            let token = line.arguments[0]
            reload.interval = try OptionValue.duration(token, for: "reload interval")
            guard reload.interval >= minimumInterval else {
                throw ConfigurationError(at: token.location, "reload interval '\(token.text)' is too short", expected: "at least 2s")
            }
        }
        if line.arguments.count > 1 {
            let token = line.arguments[1]
            reload.jitter = try OptionValue.duration(token, for: "reload jitter")
            guard reload.jitter == .zero || reload.jitter >= minimumJitter else {
                throw ConfigurationError(at: token.location, "reload jitter '\(token.text)' is too short", expected: "0 or at least 1s")
            }
        }
        if reload.jitter > reload.interval / 2 { reload.jitter = reload.interval / 2 }
        return reload
    }
}
