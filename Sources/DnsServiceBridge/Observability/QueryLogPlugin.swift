import Logging
import NIOCore

/// CoreDNS's `log`: one line per query through swift-log (info level), in the rule's format, for queries
/// under the rule's names whose response class the rule wants.
struct QueryLogPlugin: QueryPlugin {
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

    func handle(_ query: DNSMessage, context: QueryContext, next: any QueryHandler) -> EventLoopFuture<DNSMessage> {
        // As CoreDNS: the first rule whose names cover the query decides.
        guard let name = query.question?.name,
              let rule = rules.first(where: { rule in rule.names.contains { name.isSubdomain(of: $0) } })
        else { return next.handle(query, context: context) }
        let started = NIODeadline.now()
        return next.handle(query, context: context).map { [logger] reply in
            let responseClass = Self.classify(reply)
            if rule.classes.contains(.all) || rule.classes.contains(responseClass) {
                logger.info("\(rule.formatter.line(query: query, reply: reply, client: context.client, transport: context.transport, duration: .now() - started))")
            }
            return reply
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
