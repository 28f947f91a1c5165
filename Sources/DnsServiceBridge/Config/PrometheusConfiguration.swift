/// `prometheus [ADDRESS]`: where to serve metrics.
public struct PrometheusConfiguration: Sendable, Hashable {
    /// CoreDNS's default.
    public static let defaultAddress = "localhost:9153"

    /// `HOST:PORT` to listen on.
    public var address: String

    /// Creates the setting.
    public init(address: String = PrometheusConfiguration.defaultAddress) {
        self.address = address
    }

    static func parse(_ line: CorefileLine) throws(ConfigurationError) -> PrometheusConfiguration {
        try line.requireArguments(0...1, usage: "prometheus [ADDRESS]")
        try line.requireNoBlock(usage: "prometheus [ADDRESS]")
        guard let argument = line.arguments.first else { return PrometheusConfiguration() }
        return PrometheusConfiguration(address: try OptionValue.listenAddress(argument, for: "prometheus"))
    }
}
