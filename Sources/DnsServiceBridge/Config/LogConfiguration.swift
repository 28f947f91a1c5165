/// One `log [NAMES...] [FORMAT] { class CLASSES... }` line: which queries to log and how.
public struct LogConfiguration: Sendable, Hashable {
    /// Which responses to log (CoreDNS's `class`).
    public enum ResponseClass: String, Sendable, Hashable, CaseIterable {
        /// Every response.
        case all
        /// NXDOMAIN and NODATA responses.
        case denial
        /// SERVFAIL, NOTIMP and REFUSED responses.
        case error
        /// Responses with an answer.
        case success
    }

    /// Names whose queries are logged, normalized; `["."]` by default.
    public var names: [String]
    /// The format with CoreDNS placeholders (`{remote}`, `{common}` ...); nil means CoreDNS's default format.
    public var format: String?
    /// The response classes logged; `[.all]` by default.
    public var classes: [ResponseClass]

    /// Creates the setting.
    public init(names: [String] = ["."], format: String? = nil, classes: [ResponseClass] = [.all]) {
        self.names = names
        self.format = format
        self.classes = classes
    }

    static func parse(_ line: CorefileLine) throws(ConfigurationError) -> LogConfiguration {
        var log = LogConfiguration()
        var arguments = line.arguments
        // As in CoreDNS: with two or more arguments, a last one holding '{' is the format; the rest are names.
        if arguments.count >= 2, let last = arguments.last, last.text.contains("{") {
            log.format = last.text
            arguments.removeLast()
        }
        if !arguments.isEmpty {
            var names: [String] = []
            for argument in arguments {
                names.append(try OptionValue.zone(argument, for: "log name"))
            }
            log.names = names
        }
        var classes: [ResponseClass] = []
        for option in line.block {
            switch option.name {
            case "class":
                let usage = "class all|denial|error|success..."
                try option.requireArguments(1...Int.max, usage: usage)
                try option.requireNoBlock(usage: usage)
                for argument in option.arguments {
                    guard let responseClass = ResponseClass(rawValue: argument.text) else {
                        throw ConfigurationError(
                            at: argument.location, "unknown log class '\(argument.text)'",
                            expected: "one of all, denial, error, success")
                    }
                    if !classes.contains(responseClass) { classes.append(responseClass) }
                }
            default:
                throw option.unknownOption(in: "log", expected: ["class"])
            }
        }
        if !classes.isEmpty { log.classes = classes }
        return log
    }
}
