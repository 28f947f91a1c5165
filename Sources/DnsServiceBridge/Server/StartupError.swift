/// A configuration that parsed but cannot run (unusable certificate, upstream that is not an IP address,
/// address in use); the description starts with the Corefile location, like parse errors.
public struct StartupError: Error, Sendable, CustomStringConvertible {
    public let location: SourceLocation?
    public let message: String
    /// The error came from binding a listener (address in use, say), not from the configuration itself: a
    /// reload may succeed once the old instance has let go of the address.
    public let isListenFailure: Bool

    public init(at location: SourceLocation?, _ message: String, isListenFailure: Bool = false) {
        self.location = location
        self.message = message
        self.isListenFailure = isListenFailure
    }

    public var description: String {
        guard let location else { return message }
        return "\(location): \(message)"
    }
}
