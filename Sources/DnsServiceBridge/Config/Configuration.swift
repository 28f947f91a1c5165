/// A whole Corefile, read and checked: its server blocks in file order, and what deserves a log line.
public struct Configuration: Sendable, Hashable {
    /// The server blocks in the order written (imports expanded, snippets applied).
    public var servers: [ServerBlockConfiguration]
    /// Things that are accepted but worth logging, such as the deprecated `proxy`.
    public var warnings: [ConfigurationWarning]

    /// Creates a configuration.
    public init(servers: [ServerBlockConfiguration], warnings: [ConfigurationWarning] = []) {
        self.servers = servers
        self.warnings = warnings
    }
}
