import Logging
import NIOCore
import Synchronization

/// The `errors` plugin's `consolidate DURATION REGEXP [LEVEL] [show_first]` rules: an error line matching a
/// rule is counted instead of logged, and once per period one line says how many there were.
final class ErrorConsolidator: Sendable {
    struct Rule: @unchecked Sendable {  // Regex is immutable once built; only its Sendable conformance lags.
        let period: Duration
        let pattern: String
        let regex: Regex<AnyRegexOutput>
        let level: Logger.Level
        let showFirst: Bool
    }

    /// Why a rule cannot be used.
    struct BadPattern: Error, CustomStringConvertible {
        let pattern: String
        let reason: String
        var description: String { "errors: consolidate pattern '\(pattern)' is not a regular expression: \(reason)" }
    }

    private let rules: [Rule]
    private let counts: Mutex<[Int]>
    private let logger: Logger

    init(_ consolidations: [ErrorsConfiguration.Consolidation], logger: Logger) throws(BadPattern) {
        var rules: [Rule] = []
        for rule in consolidations {
            let regex: Regex<AnyRegexOutput>
            do { regex = try Regex(rule.pattern) } catch {
                throw BadPattern(pattern: rule.pattern, reason: "\(error)")
            }
            rules.append(Rule(period: rule.period, pattern: rule.pattern, regex: regex,
                              level: Self.level(rule.level), showFirst: rule.showFirst))
        }
        self.rules = rules
        counts = Mutex(Array(repeating: 0, count: rules.count))
        self.logger = logger
    }

    /// CoreDNS's level names; error when none is given.
    static func level(_ name: String?) -> Logger.Level {
        switch name {
        case "warning": .warning
        case "info": .info
        case "debug": .debug
        default: .error
        }
    }

    /// Logs `line` unless a rule takes it; the first line of a period starts that period's count.
    func report(_ line: String, on loop: any EventLoop) {
        guard let index = rules.firstIndex(where: { (try? $0.regex.firstMatch(in: line)) != nil }) else {
            logger.error("\(line)")
            return
        }
        let rule = rules[index]
        let first = counts.withLock { counts -> Bool in
            counts[index] += 1
            return counts[index] == 1
        }
        guard first else { return }
        if rule.showFirst { logger.log(level: rule.level, "\(line)") }
        loop.scheduleTask(in: TimeAmount(rule.period)) { [self] in
            let count = counts.withLock { counts -> Int in
                defer { counts[index] = 0 }
                return counts[index]
            }
            logger.log(level: rule.level,
                       "\(count) errors like '\(rule.pattern)' occurred in last \(Self.goDuration(rule.period))")
        }
    }

    /// A period as Go prints it for whole seconds and minutes (`5m0s`, `30s`), else in seconds.
    static func goDuration(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        guard attoseconds == 0 else { return "\(Double(seconds) + Double(attoseconds) / 1e18)s" }
        let hours = seconds / 3600, minutes = seconds % 3600 / 60, rest = seconds % 60
        if hours > 0 { return "\(hours)h\(minutes)m\(rest)s" }
        if minutes > 0 { return "\(minutes)m\(rest)s" }
        return "\(rest)s"
    }
}
