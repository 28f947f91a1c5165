/// A configuration that parsed but cannot run (unusable certificate, upstream that is not an IP address,
/// address in use); the description starts with the Corefile location, like parse errors.
public struct StartupError: Error, Sendable, CustomStringConvertible {
    public let location: SourceLocation?
    public let message: String

    public init(at location: SourceLocation?, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String {
        guard let location else { return message }
        return "\(location): \(message)"
    }
}
