import Logging
import NIOCore

/// CoreDNS's `log`: one line per query through swift-log (info level), in the rule's format, for queries
/// under the rule's names whose response class the rule wants.
struct QueryLogPlugin: QueryStep {
    struct Rule: Sendable {
        let names: [DNSName]
        let classes: Set<LogConfiguration.ResponseClass>
        let formatter: QueryLogFormatter
    }

    let rules: [Rule]
    let logger: Logger

    init(_ configurations: [LogConfiguration], logger: Logger) {
        rules = configurations.map { configuration in
            Rule(names: configuration.names.compactMap { try? DNSName($0) },
                 classes: Set(configuration.classes),
                 formatter: QueryLogFormatter(format: configuration.format))
        }
        self.logger = logger
    }

    func completed(_ query: DNSMessage, reply: DNSMessage, _ outcome: QueryOutcome) -> DNSMessage {
        log(query, reply: reply, outcome)
        return reply
    }

    /// A query a later step dropped (a rate limit's `action drop`) is logged as CoreDNS logs one its plugins left
    /// unanswered: in the error class, with `-` for the rcode.
    func dropped(_ query: DNSMessage, _ outcome: QueryOutcome) {
        log(query, reply: nil, outcome)
    }

    private func log(_ query: DNSMessage, reply: DNSMessage?, _ outcome: QueryOutcome) {
        // As CoreDNS: the first rule whose names cover the query decides.
        guard let name = query.question?.name,
              let rule = rules.first(where: { rule in rule.names.contains { name.isSubdomain(of: $0) } })
        else { return }
        let responseClass = reply.map(Self.classify) ?? .error
        if rule.classes.contains(.all) || rule.classes.contains(responseClass) {
            logger.info("\(rule.formatter.line(query: query, reply: reply, client: outcome.client.name, transport: outcome.client.transport, duration: .now() - outcome.received))")
        }
    }

    /// CoreDNS's response classes: an answer is success, NXDOMAIN and NODATA are denial, the rest error.
    static func classify(_ reply: DNSMessage) -> LogConfiguration.ResponseClass {
        switch reply.rcode {
        case .noError: reply.header.answerCount > 0 ? .success : .denial
        case .nxDomain: .denial
        default: .error
        }
    }
}
