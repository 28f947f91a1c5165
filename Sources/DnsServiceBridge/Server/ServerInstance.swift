import Logging
import NIOCore
import NIOPosix

/// Everything one Configuration runs: the forwarders of its server blocks and the listeners in front of them.
/// A reload starts a new instance and stops the old one.
public final class ServerInstance: Sendable {
    /// The `dns://` and `tls://` listeners, by their socket: what a reload can hand on.
    private let dnsListeners: [ListenerKey: DNSListener]
    /// The `https://` listeners, by their socket.
    private let dohListeners: [ListenerKey: DoHListener]
    private let grpcListeners: [GRPCListener]
    /// The files of gRPC listeners' unix sockets, removed when the instance stops.
    private let unixSockets: [UnixSocketFile]
    private let forwarders: [Forwarder]
    /// The workers that make the UDP exchanges event loops ask for (see `ExchangeWorkers`).
    private let exchangeWorkers: ExchangeWorkers
    private let inFlight: InFlightQueries
    private let collector: MetricsCollectors.Token
    private let logger: Logger
    /// The plugins of every block, kept to stop their background work (hosts file re-reads).
    private let plugins: [any QueryStep]
    /// What is listening, for logs: `dns://127.0.0.1:5353`, `grpc://[::]:443`.
    public let listening: [String]

    /// `grpcServers` are the gRPC listeners' `server` labels in metrics, in the same order.
    private init(dnsListeners: [ListenerKey: DNSListener], dohListeners: [ListenerKey: DoHListener],
                 grpcListeners: [GRPCListener], grpcServers: [String], unixSockets: [UnixSocketFile],
                 forwarders: [Forwarder], exchangeWorkers: ExchangeWorkers, inFlight: InFlightQueries, logger: Logger,
                 plugins: [any QueryStep], listening: [String]) {
        self.dnsListeners = dnsListeners
        self.dohListeners = dohListeners
        self.exchangeWorkers = exchangeWorkers
        self.grpcListeners = grpcListeners
        self.unixSockets = unixSockets
        self.forwarders = forwarders
        self.inFlight = inFlight
        self.logger = logger
        self.plugins = plugins
        self.listening = listening
        let labelled = Array(zip(grpcServers, grpcListeners))
        let caches = plugins.compactMap { $0 as? CachePlugin }
        let rateLimits = plugins.compactMap { $0 as? RateLimitPlugin }
        collector = MetricsCollectors.shared.add {
            BridgeMetrics.collectListenerCounters()
            CacheMetrics.collect(caches)
            RateLimitMetrics.collect(rateLimits)
            BridgeMetrics.collectUpstreams(forwarders)
            BridgeMetrics.collectGRPCListeners(labelled)
        }
    }

    /// Readiness: every upstream set has an upstream that answered since start and is not down now.
    public var upstreamsReady: Bool {
        forwarders.allSatisfy { forwarder in
            forwarder.sets.allSatisfy { set in set.upstreams.contains { $0.hasAnswered && !$0.isDown } }
        }
    }

    /// Queries (DNS and gRPC) being answered now.
    public var queriesInFlight: Int { inFlight.current }

    /// Builds every block's chain and binds every listener; on any failure, what was started is stopped.
    /// `state` tells the gRPC health service whether to say SERVING. With `predecessor` (a reload), its `dns://` and
    /// `tls://` sockets on the same addresses are taken over rather than bound again (`DNSListener.HandOver`); it
    /// keeps reading them until `stopListening()`.
    public static func start(_ configuration: Configuration, group: MultiThreadedEventLoopGroup,
                             logger: Logger, overrides: EngineOverrides = EngineOverrides(),
                             state: ServiceState? = nil, predecessor: ServerInstance? = nil)
        async throws(StartupError) -> ServerInstance {
        let inFlight = InFlightQueries()
        let plan = try await InstancePlan.build(configuration, group: group, logger: logger, overrides: overrides)
        var dnsListeners: [ListenerKey: DNSListener] = [:]
        var dohListeners: [ListenerKey: DoHListener] = [:]
        var grpcListeners: [GRPCListener] = []
        var grpcServers: [String] = []
        var unixSockets: [UnixSocketFile] = []
        var listening: [String] = []
        do throws(StartupError) {
            for planned in plan.listeners {
                let key = planned.key
                let serverMetrics = ServerMetrics(server: key.metricsLabel)
                let router = ListenerEngine(routes: planned.routes, metrics: serverMetrics, inFlight: inFlight)
                let options = planned.options
                switch key.scheme {
                case .dns, .tls:
                    var settings = options.applied(to: DNSListener.Settings())
                    settings.tls = planned.tlsContext
                    let listener: DNSListener
                    do {
                        listener = try await DNSListener.bind(host: key.bindHost, port: key.port, settings: settings,
                                                              engine: router, group: group, logger: logger,
                                                              inheriting: await predecessor?.dnsListeners[key]?.handOver())
                    } catch {
                        throw StartupError(at: nil, "cannot listen on \(key): \(error)", isListenFailure: true)
                    }
                    dnsListeners[key] = listener
                case .https:
                    let settings = options.applied(to: DNSListener.Settings())
                    do {
                        dohListeners[key] = try await DoHListener.bind(
                            host: key.bindHost, port: key.port, settings: settings, tls: planned.tlsContext,
                            engine: router, server: key.metricsLabel, group: group,
                            inheriting: await predecessor?.dohListeners[key]?.handOver())
                    } catch {
                        throw StartupError(at: nil, "cannot listen on \(key): \(error)", isListenFailure: true)
                    }
                case .grpc:
                    let listener: GRPCListener
                    let bindPath = key.unixPath.map(UnixSocketFile.bindPath(for:))
                    do {
                        listener = try GRPCListener(addresses: [(bindPath.map { "unix:" + $0 } ?? key.grpcAddress,
                                                                 planned.grpcSecurity)],
                                                    plan: WorkerPlan(engine: router, group: group),
                                                    maxCallsInService: options.grpcCalls,
                                                    trustedProxies: planned.trustedProxies,
                                                    reflection: options.reflection, logger: logger,
                                                    isServing: { state?.isServing ?? !inFlight.isDraining })
                    } catch {
                        throw StartupError(at: nil, "\(error)", isListenFailure: true)
                    }
                    grpcListeners.append(listener)
                    if let path = key.unixPath, let bindPath {
                        unixSockets.append(try UnixSocketFile(bound: bindPath, at: path,
                                                              permissions: planned.unixSocket))
                    }
                    logger.info("gRPC queries are forwarded by the datagram relay", metadata: ["listener": "\(key)"])
                    // Before the first call: a health check must never find the listener up and the daemon starting.
                    state?.listening()
                    listener.start()
                    grpcServers.append(key.metricsLabel)
                }
                let plainHTTP = key.scheme == .https && planned.tls == nil
                listening.append(key.description + (planned.tls != nil && key.scheme == .grpc ? " (TLS)" : "")
                    + (plainHTTP ? " (plain HTTP/1.1)" : ""))
            }
        } catch {
            for listener in dnsListeners.values { await listener.close() }
            for listener in dohListeners.values { await listener.close() }
            for listener in grpcListeners { await listener.shutdown(gracePeriod: .zero) }
            unixSockets.forEach { $0.remove() }
            await plan.discard()
            await predecessor?.resumeAccepting()
            throw error
        }
        // The listeners take queries now: a loop probe can come back.
        for case let loop as LoopPlugin in plan.plugins { loop.startProbing() }
        if configuration.servers.contains(where: { $0.ready != nil }) {
            // Readiness needs each set to have heard from an upstream, not just to have no failures yet.
            for forwarder in plan.forwarders {
                for set in forwarder.sets { set.upstreams.forEach { $0.probeUntilAnswered() } }
            }
        }
        return ServerInstance(dnsListeners: dnsListeners, dohListeners: dohListeners, grpcListeners: grpcListeners,
                              grpcServers: grpcServers, unixSockets: unixSockets,
                              forwarders: plan.forwarders, exchangeWorkers: plan.exchangeWorkers, inFlight: inFlight,
                              logger: logger, plugins: plan.plugins,
                              listening: listening)
    }

    /// What `-validate` runs: builds everything a start would (upstream sets, plugins, every listener's
    /// certificates and keys) on a group of its own, binds nothing, sends nothing, and lets it all go.
    public static func check(_ configuration: Configuration, logger: Logger,
                             overrides: EngineOverrides = EngineOverrides()) async throws(StartupError) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let plan = try await InstancePlan.build(configuration, group: group, logger: logger, overrides: overrides)
            await plan.discard()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
    }

    /// A reload that took sockets over did not start: the listeners accept again.
    private func resumeAccepting() async {
        for listener in dnsListeners.values { await listener.resumeAccepting() }
        for listener in dohListeners.values { await listener.resumeAccepting() }
    }

    /// After a reload took its sockets over: stops reading queries and accepting connections on every `dns://` and
    /// `tls://` listener (the next configuration reads the same sockets now); what was read is still answered.
    public func stopListening() async {
        for listener in dnsListeners.values { await listener.stopListening() }
    }

    /// Stops taking queries (TCP/DoT stop accepting, gRPC stops taking calls, UDP queries get REFUSED),
    /// answers what is in flight for up to `gracePeriod`, then closes listeners and upstreams.
    public func stop(gracePeriod: Duration) async {
        inFlight.drain()
        await withTaskGroup(of: Void.self) { group in
            for listener in grpcListeners {
                group.addTask { await listener.shutdown(gracePeriod: gracePeriod) }
            }
            group.addTask { [self] in
                for listener in dnsListeners.values { await listener.stopAccepting() }
                for listener in dohListeners.values { await listener.stopAccepting() }
                let pending = inFlight.current
                if await !inFlight.waitUntilIdle(upTo: gracePeriod) {
                    logger.warning("shutdown grace period over; dropping unanswered queries",
                                   metadata: ["in-flight": "\(inFlight.current)"])
                } else if pending > 0 {
                    logger.info("answered the queries in flight", metadata: ["count": "\(pending)"])
                }
                for listener in dnsListeners.values { await listener.close() }
                for listener in dohListeners.values { await listener.close() }
            }
        }
        unixSockets.forEach { $0.remove() }
        forwarders.forEach { $0.stop() }
        await exchangeWorkers.close()
        MetricsCollectors.shared.remove(collector)
        Self.stopPlugins(plugins)
    }

    /// After a reload took its sockets over (`stopListening()` first): answers every query it has read, on UDP and
    /// on the TCP/DoT connections it accepted (not turned away: they are the clients' last configuration), until
    /// nothing is in flight and those connections are closed, for up to `gracePeriod`; then stops as `stop` does.
    public func retire(gracePeriod: Duration) async {
        let deadline = ContinuousClock.now.advanced(by: gracePeriod)
        await withTaskGroup(of: Void.self) { group in
            for listener in grpcListeners {
                group.addTask { await listener.shutdown(gracePeriod: gracePeriod) }
            }
            group.addTask { [self] in
                // Quiet for 100 ms in a row: a connection accepted just before the hand-over is counted only once
                // its pipeline is set up on its event loop, a moment later.
                var quietSince: ContinuousClock.Instant?
                while ContinuousClock.now < deadline {
                    let quiet = inFlight.current == 0 && !dnsListeners.values.contains { $0.openConnections > 0 }
                        && !dohListeners.values.contains { $0.openConnections > 0 }
                    if !quiet {
                        quietSince = nil
                    } else if let since = quietSince, ContinuousClock.now - since >= .milliseconds(100) {
                        break
                    } else if quietSince == nil {
                        quietSince = ContinuousClock.now
                    }
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
        }
        await stop(gracePeriod: .zero)
    }

    private static func stopPlugins(_ plugins: [any QueryStep]) {
        plugins.forEach { $0.stop() }
    }
}
