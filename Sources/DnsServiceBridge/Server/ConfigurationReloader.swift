import Foundation
import Logging
import Metrics
import NIOPosix
import Synchronization

/// Keeps one `ServerInstance` serving and replaces it with one built from a fresh read of the Corefile:
/// every `reload` interval (± jitter) when the Corefile's SHA-512 changed, as CoreDNS's reload plugin does, or
/// whenever `reload(trigger:)` is called (SIGHUP).
///
/// A Corefile that does not parse or does not start is logged (with its file:line) and the running instance
/// keeps serving. Hand-over: the new instance takes the old one's `dns://` and `tls://` sockets on the same
/// addresses (UDP sockets with the datagrams queued on them, TCP listening sockets with their accept queues) and
/// binds the rest, gRPC beside the old one's through SO_REUSEPORT; only once it serves does the old one stop reading
/// and accepting, answer what it read (for up to `handOverGrace`) and close. When the new one cannot start only
/// because an address is still held (a port that changed hands between schemes), the old instance is stopped and
/// the new one started, which leaves a gap of a few milliseconds; if the new one still fails, the old
/// configuration is started again.
public actor ConfigurationReloader {
    /// Where the configuration comes from.
    public struct Source: Sendable {
        /// The Corefile whose content is fingerprinted for the interval checks; nil when the configuration does
        /// not come from a file (command-line flags, the built-in default), which disables them.
        public var file: String?
        /// Reads and checks the configuration again.
        public var load: @Sendable () throws -> Configuration

        /// Creates a source.
        public init(file: String?, load: @escaping @Sendable () throws -> Configuration) {
            self.file = file
            self.load = load
        }
    }

    private let source: Source
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let overrides: EngineOverrides
    private let handOverGrace: Duration
    private let state: ServiceState?
    private let notifier: SystemdNotifier?
    /// The running instance, readable outside the actor for readiness checks.
    private nonisolated let current: Mutex<ServerInstance?>
    private var instance: ServerInstance? {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }
    private var configuration: Configuration
    private var fingerprint: String?
    private var watcher: Task<Void, Never>?
    /// Reloads that left the previous configuration running (CoreDNS's coredns_reload_failed_total).
    public private(set) var failedReloads = 0
    /// Reloads that replaced the configuration.
    public private(set) var completedReloads = 0

    /// Takes over `instance`, which runs `configuration`; `handOverGrace` is how long queries in flight on the old
    /// instance's gRPC listeners may take when it is replaced; `notifier` tells systemd when a reload begins
    /// and ends.
    public init(instance: ServerInstance, configuration: Configuration, source: Source,
                group: MultiThreadedEventLoopGroup, logger: Logger, overrides: EngineOverrides = EngineOverrides(),
                state: ServiceState? = nil, handOverGrace: Duration = .seconds(5), notifier: SystemdNotifier? = nil) {
        current = Mutex(instance)
        self.state = state
        self.notifier = notifier
        self.configuration = configuration
        self.source = source
        self.group = group
        self.logger = logger
        self.overrides = overrides
        self.handOverGrace = handOverGrace
        fingerprint = source.file.flatMap(CorefileFingerprint.read)
    }

    /// Starts the interval checks when the configuration has a `reload` directive.
    public func start() {
        if let fingerprint { logger.info("running configuration SHA512 = \(fingerprint)") }
        restartWatcher()
    }

    /// Reads the configuration again and replaces the running instance if it is valid and starts; returns
    /// whether it did. `trigger` is for the log ("SIGHUP", "Corefile changed").
    @discardableResult
    public func reload(trigger: String) async -> Bool {
        logger.info("reloading the configuration", metadata: ["trigger": "\(trigger)"])
        notifier?.reloading()
        // Whether the new configuration took over or the old one still serves, something serves again.
        defer { notifier?.ready(status: "serving") }
        if let file = source.file { fingerprint = CorefileFingerprint.read(file) ?? fingerprint }
        let next: Configuration
        do {
            next = try source.load()
        } catch {
            return failed("\(error)")
        }
        for warning in next.warnings { logger.warning("\(warning)") }
        guard let old = instance else {
            return await startFresh(next)
        }
        do throws(StartupError) {
            let started = try await ServerInstance.start(next, group: group, logger: logger, overrides: overrides,
                                                          state: state, predecessor: old)
            await old.stopListening()
            await old.retire(gracePeriod: handOverGrace)
            return replaced(by: started, configuration: next)
        } catch where error.isListenFailure {
            logger.debug("address still held by the running configuration; stopping it first",
                         metadata: ["error": "\(error)"])
        } catch {
            return failed("\(error)")
        }
        await old.stop(gracePeriod: handOverGrace)
        instance = nil
        do {
            let started = try await ServerInstance.start(next, group: group, logger: logger, overrides: overrides,
                                                          state: state)
            return replaced(by: started, configuration: next)
        } catch {
            _ = failed("\(error)")
        }
        do {
            instance = try await ServerInstance.start(configuration, group: group, logger: logger,
                                                      overrides: overrides, state: state)
            logger.notice("the previous configuration is serving again")
        } catch {
            logger.critical("""
                the previous configuration could not be started again; nothing is listening until the next \
                successful reload: \(error)
                """)
        }
        return false
    }

    /// Stops the interval checks and the running instance.
    public func stop(gracePeriod: Duration) async {
        watcher?.cancel()
        watcher = nil
        await instance?.stop(gracePeriod: gracePeriod)
        instance = nil
    }

    /// Readiness of the running instance (false while none runs).
    public nonisolated var upstreamsReady: Bool { current.withLock { $0?.upstreamsReady ?? false } }

    /// What is listening now, for logs.
    public var listening: [String] { instance?.listening ?? [] }

    // MARK: - private

    private func startFresh(_ next: Configuration) async -> Bool {
        do {
            let started = try await ServerInstance.start(next, group: group, logger: logger, overrides: overrides,
                                                          state: state)
            return replaced(by: started, configuration: next)
        } catch {
            return failed("\(error)")
        }
    }

    private func replaced(by started: ServerInstance, configuration next: Configuration) -> Bool {
        instance = started
        configuration = next
        completedReloads += 1
        Counter(label: "dnsgrpcd_reloads_total", dimensions: [("result", "success")]).increment()
        for address in started.listening { logger.info("listening on \(address)") }
        logger.notice("configuration reloaded",
                      metadata: fingerprint.map { ["sha512": "\($0)"] } ?? [:])
        restartWatcher()
        return true
    }

    private func failed(_ message: String) -> Bool {
        failedReloads += 1
        Counter(label: "coredns_reload_failed_total").increment()
        Counter(label: "dnsgrpcd_reloads_total", dimensions: [("result", "failure")]).increment()
        logger.error("reload failed, still serving the previous configuration: \(message)")
        return false
    }

    /// The Corefile changed since the last look (CoreDNS does not retry a content it already tried).
    private func check() async {
        guard let file = source.file, let current = CorefileFingerprint.read(file), current != fingerprint else { return }
        fingerprint = current
        await reload(trigger: "Corefile changed")
    }

    private func restartWatcher() {
        watcher?.cancel()
        watcher = nil
        guard source.file != nil, let settings = configuration.servers.lazy.compactMap(\.reload).first else { return }
        let interval = Self.jittered(settings)
        logger.debug("checking the Corefile for changes", metadata: ["every": "\(interval)"])
        watcher = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard !Task.isCancelled, let self else { return }
                await self.check()
            }
        }
    }

    /// CoreDNS's interval: INTERVAL moved once, at random, by up to half of JITTER either way.
    static func jittered(_ settings: ReloadConfiguration) -> Duration {
        let jitter = settings.jitter.components
        let nanoseconds = jitter.seconds * 1_000_000_000 + jitter.attoseconds / 1_000_000_000
        guard nanoseconds > 0 else { return settings.interval }
        let offset = Int64.random(in: 0..<nanoseconds) - nanoseconds / 2
        return settings.interval + .nanoseconds(offset)
    }
}
