/// Something in a Corefile that is accepted but worth a log line (a deprecated directive, a glob that matched nothing).
public struct ConfigurationWarning: Sendable, Hashable, CustomStringConvertible {
    /// Where it was written.
    public var location: SourceLocation
    /// What the operator should know, in words.
    public var message: String

    /// Creates a warning at a location.
    public init(at location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    /// `FILE:LINE: message`.
    public var description: String { "\(location): \(message)" }
}
