/// One directive or option: its name, the arguments on its line, and the lines of its `{ }` block if it has one.
struct CorefileLine: Sendable, Hashable {
    var head: CorefileToken
    var arguments: [CorefileToken]
    /// The block's `{`, when the line opens one (a block may be empty).
    var openBrace: CorefileToken?
    var block: [CorefileLine]

    var name: String { head.text }
    var location: SourceLocation { head.location }
    var hasBlock: Bool { openBrace != nil }

    func error(_ problem: String, expected: String) -> ConfigurationError {
        ConfigurationError(at: location, problem, expected: expected)
    }

    /// Fails unless the argument count is in `counts`; `usage` is the syntax shown to the operator.
    func requireArguments(_ counts: ClosedRange<Int>, usage: String) throws(ConfigurationError) {
        guard counts.contains(arguments.count) else {
            let problem = arguments.count < counts.lowerBound
                ? "\(name) is missing an argument"
                : "\(name) has too many arguments (\(arguments.count))"
            throw error(problem, expected: "'\(usage)'")
        }
    }

    /// Fails when the line opens a block; `usage` is the syntax shown to the operator.
    func requireNoBlock(usage: String) throws(ConfigurationError) {
        if let openBrace {
            throw ConfigurationError(at: openBrace.location, "\(name) takes no block", expected: "'\(usage)'")
        }
    }

    /// The error for an option this directive does not know, listing the ones it does.
    func unknownOption(in directive: String, expected options: [String]) -> ConfigurationError {
        error(
            "unknown option '\(name)' in \(directive)",
            expected: "one of \(options.sorted().joined(separator: ", "))")
    }
}
