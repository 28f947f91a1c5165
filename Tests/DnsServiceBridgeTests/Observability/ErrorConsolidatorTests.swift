import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import DnsServiceBridge

/// Keeps what is logged through it, for assertions.
private final class RecordingLogHandler: LogHandler, Sendable {
    let lines = Mutex<[(Logger.Level, String)]>([])
    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    func log(event: LogEvent) {
        lines.withLock { $0.append((event.level, event.message.description)) }
    }
}

@Suite struct ErrorConsolidatorTests {
    @Test func matchingErrorsAreCountedOncePerPeriod() async throws {
        let handler = RecordingLogHandler()
        let logger = Logger(label: "test") { _ in handler }
        let rules = [ErrorsConfiguration.Consolidation(period: .milliseconds(200), pattern: "i/o timeout$",
                                                       level: "warning", showFirst: true)]
        let consolidator = try ErrorConsolidator(rules, logger: logger)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()

        for _ in 0..<3 { consolidator.report("plugin/errors: 2 a.example. A: read udp: i/o timeout", on: loop) }
        consolidator.report("plugin/errors: 2 b.example. A: connection refused", on: loop)

        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while handler.lines.withLock({ $0.count }) < 3, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let lines = handler.lines.withLock { $0 }
        try await group.shutdownGracefully()
        #expect(lines.count == 3)
        #expect(lines.contains { $0.0 == .warning && $0.1.hasSuffix("a.example. A: read udp: i/o timeout") })
        #expect(lines.contains { $0.0 == .error && $0.1.hasSuffix("connection refused") })
        #expect(lines.contains { $0.0 == .warning && $0.1 == "3 errors like 'i/o timeout$' occurred in last 0.2s" })
    }

    @Test func badPatternIsRejected() {
        let rules = [ErrorsConfiguration.Consolidation(period: .seconds(1), pattern: "(unclosed")]
        #expect(throws: ErrorConsolidator.BadPattern.self) {
            try ErrorConsolidator(rules, logger: Logger(label: "test"))
        }
    }

    @Test func periodsPrintLikeGo() {
        #expect(ErrorConsolidator.goDuration(.seconds(300)) == "5m0s")
        #expect(ErrorConsolidator.goDuration(.seconds(30)) == "30s")
        #expect(ErrorConsolidator.goDuration(.seconds(3661)) == "1h1m1s")
    }
}
