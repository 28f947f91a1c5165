/// `errors [stdout] { stacktrace; consolidate DURATION REGEXP [LEVEL] [show_first] }`: error logging.
public struct ErrorsConfiguration: Sendable, Hashable {
    /// Errors matching `pattern` within `period` are logged once with a count.
    public struct Consolidation: Sendable, Hashable {
        /// The window.
        public var period: Duration
        /// The regular expression (Go RE2 syntax, checked where it is compiled).
        public var pattern: String
        /// warning, error, info or debug; nil means error, as in CoreDNS.
        public var level: String?
        /// Log the first matching error in full too.
        public var showFirst: Bool

        /// Creates a rule.
        public init(period: Duration, pattern: String, level: String? = nil, showFirst: Bool = false) {
            self.period = period
            self.pattern = pattern
            self.level = level
            self.showFirst = showFirst
        }
    }

    /// Log a stack trace when a panic is recovered (kept for compatibility; Swift has no recovered panics).
    public var stacktrace: Bool
    /// The consolidation rules, in order.
    public var consolidations: [Consolidation]

    /// Creates the setting.
    public init(stacktrace: Bool = false, consolidations: [Consolidation] = []) {
        self.stacktrace = stacktrace
        self.consolidations = consolidations
    }

    static func parse(_ line: CorefileLine) throws(ConfigurationError) -> ErrorsConfiguration {
        try line.requireArguments(0...1, usage: "errors [stdout]")
        if let argument = line.arguments.first, argument.text != "stdout" {
            throw ConfigurationError(at: argument.location, "bad errors log '\(argument.text)'", expected: "stdout or nothing")
        }
        var errors = ErrorsConfiguration()
        for option in line.block {
            switch option.name {
            case "stacktrace":
                try ForwarderOptions.flag(option)
                errors.stacktrace = true
            case "consolidate":
                errors.consolidations.append(try consolidation(option))
            default:
                throw option.unknownOption(in: "errors", expected: ["consolidate", "stacktrace"])
            }
        }
        return errors
    }

    private static func consolidation(_ option: CorefileLine) throws(ConfigurationError) -> Consolidation {
        let usage = "consolidate DURATION REGEXP [warning|error|info|debug] [show_first]"
        try option.requireArguments(2...4, usage: usage)
        try option.requireNoBlock(usage: usage)
        var rule = Consolidation(
            period: try OptionValue.duration(option.arguments[0], for: "consolidate"), pattern: option.arguments[1].text)
        for argument in option.arguments.dropFirst(2) {
            // A level may come first, then show_first; each at most once (CoreDNS's order).
            let isLevel = ["warning", "error", "info", "debug"].contains(argument.text)
            if isLevel, rule.level == nil, !rule.showFirst {
                rule.level = argument.text
            } else if argument.text == "show_first", !rule.showFirst {
                rule.showFirst = true
            } else {
                throw ConfigurationError(
                    at: argument.location, "unexpected consolidate argument '\(argument.text)'",
                    expected: "'\(usage)'")
            }
        }
        return rule
    }
}
