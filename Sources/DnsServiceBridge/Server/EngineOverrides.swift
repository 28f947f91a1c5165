/// Daemon-wide settings that the Corefile has no directive for (command-line flags).
public struct EngineOverrides: Sendable {
    /// Replaces every upstream set's request deadline (CoreDNS's fixed 5s) when set.
    public var requestTimeout: Duration?

    public init(requestTimeout: Duration? = nil) {
        self.requestTimeout = requestTimeout
    }
}
