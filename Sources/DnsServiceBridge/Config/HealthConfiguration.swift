/// `health [ADDRESS] { lameduck DURATION }`: the liveness endpoint (`/health`).
public struct HealthConfiguration: Sendable, Hashable {
    /// CoreDNS's default.
    public static let defaultAddress = ":8080"

    /// `HOST:PORT` to listen on.
    public var address: String
    /// How long to keep answering (and report unhealthy) after shutdown starts; 0 by default.
    public var lameduck: Duration

    /// Creates the setting.
    public init(address: String = HealthConfiguration.defaultAddress, lameduck: Duration = .zero) {
        self.address = address
        self.lameduck = lameduck
    }

    static func parse(_ line: CorefileLine) throws(ConfigurationError) -> HealthConfiguration {
        try line.requireArguments(0...1, usage: "health [ADDRESS]")
        var health = HealthConfiguration()
        if let argument = line.arguments.first {
            health.address = try OptionValue.listenAddress(argument, for: "health")
        }
        for option in line.block {
            switch option.name {
            case "lameduck":
                let value = try ForwarderOptions.single(option, usage: "lameduck DURATION")
                health.lameduck = try OptionValue.duration(value, for: "lameduck")
            default:
                throw option.unknownOption(in: "health", expected: ["lameduck"])
            }
        }
        return health
    }
}
