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
        // As CoreDNS: the first rule whose names cover the query decides.
        guard let name = query.question?.name,
              let rule = rules.first(where: { rule in rule.names.contains { name.isSubdomain(of: $0) } })
        else { return reply }
        let responseClass = Self.classify(reply)
        if rule.classes.contains(.all) || rule.classes.contains(responseClass) {
            logger.info("\(rule.formatter.line(query: query, reply: reply, client: outcome.client.name, transport: outcome.client.transport, duration: .now() - outcome.received))")
        }
        return reply
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
