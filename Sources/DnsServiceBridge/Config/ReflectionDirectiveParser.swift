/// `reflection on|off`: whether the block's gRPC listeners serve gRPC server reflection (on by default). Blocks
/// sharing a listener: one `reflection off` turns it off there (see `ListenerOptions`).
enum ReflectionDirectiveParser {
    private static let usage = "reflection on|off"

    /// Whether the line turns reflection on.
    static func parse(_ line: CorefileLine) throws(ConfigurationError) -> Bool {
        try line.requireArguments(1...1, usage: usage)
        try line.requireNoBlock(usage: usage)
        let argument = line.arguments[0]
        switch argument.text {
        case "on": return true
        case "off": return false
        default:
            throw ConfigurationError(at: argument.location, "reflection '\(argument.text)' is not on or off",
                                     expected: "'\(usage)'")
        }
    }
}
