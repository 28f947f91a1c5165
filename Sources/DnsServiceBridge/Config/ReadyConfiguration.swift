/// `ready [ADDRESS]`: the readiness endpoint (`/ready`).
public struct ReadyConfiguration: Sendable, Hashable {
    /// CoreDNS's default.
    public static let defaultAddress = ":8181"

    /// `HOST:PORT` to listen on.
    public var address: String

    /// Creates the setting.
    public init(address: String = ReadyConfiguration.defaultAddress) {
        self.address = address
    }

    static func parse(_ line: CorefileLine) throws(ConfigurationError) -> ReadyConfiguration {
        try line.requireArguments(0...1, usage: "ready [ADDRESS]")
        try line.requireNoBlock(usage: "ready [ADDRESS]")
        guard let argument = line.arguments.first else { return ReadyConfiguration() }
        return ReadyConfiguration(address: try OptionValue.listenAddress(argument, for: "ready"))
    }
}
