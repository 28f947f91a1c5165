import ArgumentParser
import DnsServiceBridge
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

struct DnsGrpcd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dnsgrpcd",
        abstract: "DNS forwarder and gRPC DnsService bridge with CoreDNS forward/grpc semantics.",
        discussion: """
            Reads a Corefile (-conf, default ./Corefile) or, for a quick start, listener flags:
              dnsgrpcd --grpc 127.0.0.1:5553 --upstream 127.0.0.1:53
              dnsgrpcd --dns 127.0.0.1:5353 --upstream grpc://127.0.0.1:5553
            Without either, it serves whoami and log on .:53 (or -dns.port), as CoreDNS does.
            """)

    @Option(name: [.customLong("conf"), .customLong("conf", withSingleDash: true)],
            help: "The Corefile to load (default: ./Corefile when it exists).")
    var conf: String?

    @Option(name: [.customLong("dns.port", withSingleDash: true), .customLong("dns.port")],
            help: "The port of server blocks written without one.")
    var dnsPort: Int = 53

    @Option(name: .customLong("grpc"), help: "Serve gRPC DnsService (plaintext) on HOST:PORT; repeatable.")
    var grpcListeners: [String] = []

    @Option(name: .customLong("dns"), help: "Serve plain DNS (UDP and TCP) on HOST:PORT; repeatable.")
    var dnsListeners: [String] = []

    @Option(name: .customLong("upstream"),
            help: "Forward to this upstream (IP[:PORT], dns://, tls://, grpc://); repeatable.")
    var upstreams: [String] = []

    @Option(help: "The per-query deadline across retries, as a Go duration (default 5s, as CoreDNS).")
    var timeout: String?

    @Option(help: "Event-loop threads (default: the CPUs this process may run on).")
    var threads: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    @Option(help: "How long in-flight queries may take to finish on SIGTERM/SIGINT, as a Go duration.")
    var shutdownGrace: String = "5s"

    @Flag(name: [.customLong("version"), .customLong("version", withSingleDash: true)],
          help: "Print the version and exit (as CoreDNS's -version).")
    var printVersion = false

    @Flag(name: [.customLong("plugins"), .customLong("plugins", withSingleDash: true)],
          help: "List the server types and directives this build supports and exit (as CoreDNS's -plugins).")
    var printPlugins = false

    @Flag(name: [.customLong("validate", withSingleDash: true), .customLong("validate"),
                 .customLong("check-config")],
          help: """
            Check the configuration and exit: parse it, load every certificate and key, build every upstream; \
            nothing is bound and nothing sent. Exit 0, or 1 with FILE:LINE and what was expected.
            """)
    var validate = false

    @Option(name: [.customLong("pidfile", withSingleDash: true), .customLong("pidfile")],
            help: "Write the process ID to this file once serving; removed on exit (as CoreDNS's -pidfile).")
    var pidfile: String?

    @Flag(name: [.customLong("quiet", withSingleDash: true), .customLong("quiet")],
          help: "No start-up output: the listening addresses and the started line are not logged (CoreDNS's -quiet).")
    var quiet = false

    func run() async throws {
        if printVersion || printPlugins {
            print((printVersion ? BuildInfo.versionText : "") + (printPlugins ? BuildInfo.pluginsText : ""),
                  terminator: "")
            return
        }
        let stopSignals = StopSignals()
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level \(logLevel): expected trace, debug, info, notice, warning, error or critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "dnsgrpcd")
        let overrides = try engineOverrides()
        let grace = try duration(shutdownGrace, flag: "--shutdown-grace")
        if let threads, threads < 1 { throw ValidationError("--threads \(threads): expected 1 or more") }

        // SIGHUP is taken over before anything listens, so one right after start-up is a reload, not death.
        let reloads = SignalWaiter.reloads()
        let source = ConfigurationSource(conf: conf, dnsPort: dnsPort, grpc: grpcListeners, dns: dnsListeners,
                                         upstreams: upstreams)
        let configuration: Configuration
        do {
            configuration = try source.load(logger: logger)
        } catch {
            Self.fail("\(error)")
        }
        for warning in configuration.warnings { logger.warning("\(warning)") }
        if validate {
            do { try await ServerInstance.check(configuration, logger: logger, overrides: overrides) } catch {
                Self.fail("\(error)")
            }
            print("configuration OK: \(source.name), \(configuration.servers.count) server block(s)")
            return
        }

        // Before any metric handle exists: swift-metrics hands out no-op handles until it is bootstrapped.
        _ = PrometheusMetrics.bootstrap()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads ?? EventLoopThreads.default())
        let state = ServiceState()
        let endpoints: OperationsEndpoints
        do {
            endpoints = try await OperationsEndpoints.start(configuration, state: state, group: group, logger: logger)
        } catch {
            try? await group.shutdownGracefully()
            Self.fail("\(error)")
        }
        let instance: ServerInstance
        do {
            instance = try await ServerInstance.start(configuration, group: group, logger: logger,
                                                      overrides: overrides, state: state)
        } catch {
            await endpoints.close()
            try? await group.shutdownGracefully()
            Self.fail("\(error)")
        }
        if !quiet {
            for address in instance.listening + endpoints.listening { logger.info("listening on \(address)") }
            logger.info("dnsgrpcd started", metadata: ["grpc-core": "\(gRPCCoreVersion())"])
        }
        let pid = pidfile.map(PidFile.init)
        do { try pid?.write() } catch {
            await instance.stop(gracePeriod: .zero)
            await endpoints.close()
            try? await group.shutdownGracefully()
            Self.fail("\(error)")
        }
        defer { pid?.remove() }

        let notifier = SystemdNotifier(logger: logger)
        let reloader = ConfigurationReloader(instance: instance, configuration: configuration,
                                             source: source.reloadSource(logger: logger), group: group,
                                             logger: logger, overrides: overrides, state: state, notifier: notifier)
        state.serving(readiness: { reloader.upstreamsReady })
        await reloader.start()
        notifier?.ready(status: "serving \(instance.listening.count) listener(s)")
        let daemon = DaemonService(reloader: reloader, endpoints: endpoints, state: state, gracePeriod: grace,
                                   reloads: reloads, notifier: notifier, logger: logger) { [logger, source] in
            guard source.reloadable else {
                logger.notice("SIGHUP received; the configuration comes from flags, there is nothing to reload")
                return
            }
            await reloader.reload(trigger: "SIGHUP")
        }
        let services = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [daemon], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        await stopSignals.attach(services)
        try await services.run()
        try await group.shutdownGracefully()
        logger.info("stopped")
    }

    private func engineOverrides() throws -> EngineOverrides {
        var overrides = EngineOverrides()
        if let timeout { overrides.requestTimeout = try duration(timeout, flag: "--timeout") }
        return overrides
    }

    private func duration(_ text: String, flag: String) throws -> Duration {
        guard let duration = GoDuration.parse(text), duration > .zero else {
            throw ValidationError("\(flag) \(text): expected a positive duration such as 500ms, 2s or 1m")
        }
        return duration
    }

    /// Start-up errors end the process with the message alone (file:line first) and exit status 1.
    static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("dnsgrpcd: \(message)\n".utf8))
        Foundation.exit(1)
    }
}
