/// Why a Corefile could not be turned into a `Configuration`: where, what was wrong and what was expected there.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file and line of the offending token.
    public var location: SourceLocation
    /// What was wrong, in words (no trailing period).
    public var problem: String
    /// What the parser expected instead.
    public var expected: String

    /// Creates an error at a location.
    public init(at location: SourceLocation, _ problem: String, expected: String) {
        self.location = location
        self.problem = problem
        self.expected = expected
    }

    /// `FILE:LINE: what was wrong; expected WHAT`.
    public var description: String {
        "\(location): \(problem); expected \(expected)"
    }
}
