import Logging
import NIOCore
import NIOPosix

/// Everything one Configuration runs: the forwarders of its server blocks and the listeners in front of them.
/// A reload starts a new instance and stops the old one.
public final class ServerInstance: Sendable {
    private let dnsListeners: [DNSListener]
    private let grpcListeners: [GRPCListener]
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
    private init(dnsListeners: [DNSListener], grpcListeners: [GRPCListener], grpcServers: [String],
                 forwarders: [Forwarder], exchangeWorkers: ExchangeWorkers, inFlight: InFlightQueries, logger: Logger,
                 plugins: [any QueryStep], listening: [String]) {
        self.dnsListeners = dnsListeners
        self.exchangeWorkers = exchangeWorkers
        self.grpcListeners = grpcListeners
        self.forwarders = forwarders
        self.inFlight = inFlight
        self.logger = logger
        self.plugins = plugins
        self.listening = listening
        let labelled = Array(zip(grpcServers, grpcListeners))
        collector = MetricsCollectors.shared.add {
            BridgeMetrics.collectListenerCounters()
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
    /// `state` tells the gRPC health service whether to say SERVING.
    public static func start(_ configuration: Configuration, group: MultiThreadedEventLoopGroup,
                             logger: Logger, overrides: EngineOverrides = EngineOverrides(),
                             state: ServiceState? = nil) async throws(StartupError)
        -> ServerInstance {
        let inFlight = InFlightQueries()
        guard let exchangeWorkers = ExchangeWorkers(count: group.loopCount, logger: logger) else {
            throw StartupError(at: nil, "cannot start the UDP exchange workers: the system gave no eventfd")
        }
        var forwarders: [Forwarder] = []
        var plugins: [any QueryStep] = []
        var routes: [ListenerKey: [ListenerEngine.Route]] = [:]
        var tlsByKey: [ListenerKey: (TLSServerSettings, SourceLocation)] = [:]
        var optionsByKey: [ListenerKey: ListenerOptions] = [:]
        var order: [ListenerKey] = []
        do throws(StartupError) {
            for block in configuration.servers {
                let engine = try blockEngine(block, group: group, exchangeWorkers: exchangeWorkers, logger: logger,
                                             overrides: overrides)
                if let forwarder = engine.forwarder { forwarders.append(forwarder) }
                plugins += engine.steps
                for key in block.keys {
                    let zone: DNSName
                    do { zone = try DNSName(key.zone) } catch { throw StartupError(at: block.location, "\(error)") }
                    for host in block.listenHosts {
                        let listenerKey = ListenerKey(scheme: key.scheme, host: host, port: key.port)
                        if routes[listenerKey] == nil { order.append(listenerKey) }
                        routes[listenerKey, default: []].append(
                            ListenerEngine.Route(zone: zone, network: key.reverseFilter, block: engine))
                        optionsByKey[listenerKey, default: ListenerOptions()].take(from: block)
                        if let tls = block.tls, tlsByKey[listenerKey] == nil {
                            tlsByKey[listenerKey] = (tls, block.tlsLocation ?? block.location)
                        }
                        if key.scheme == .tls && block.tls == nil {
                            throw StartupError(at: block.location, "server block \(key) serves DNS over TLS "
                                + "without a certificate; expected a 'tls CERT KEY [CA]' directive in the block")
                        }
                    }
                }
            }
        } catch {
            forwarders.forEach { $0.stop() }
            await exchangeWorkers.close()
            stopPlugins(plugins)
            throw error
        }

        var dnsListeners: [DNSListener] = []
        var grpcListeners: [GRPCListener] = []
        var grpcServers: [String] = []
        var listening: [String] = []
        do throws(StartupError) {
            for key in order {
                let serverMetrics = ServerMetrics(server: key.metricsLabel)
                let router = ListenerEngine(routes: routes[key] ?? [], metrics: serverMetrics, inFlight: inFlight)
                let tls = tlsByKey[key]
                let options = optionsByKey[key] ?? ListenerOptions()
                switch key.scheme {
                case .dns, .tls:
                    var settings = options.applied(to: DNSListener.Settings())
                    if key.scheme == .tls, let (tlsSettings, location) = tls {
                        do { settings.tls = try tlsSettings.dotServerContext() } catch {
                            throw StartupError(at: location, "\(error)")
                        }
                    }
                    let listener: DNSListener
                    do {
                        listener = try await DNSListener.bind(host: key.bindHost, port: key.port, settings: settings,
                                                              engine: router, group: group, logger: logger)
                    } catch {
                        throw StartupError(at: nil, "cannot listen on \(key): \(error)", isListenFailure: true)
                    }
                    dnsListeners.append(listener)
                case .grpc:
                    var security = GRPCServerSecurity.insecure
                    if let (tlsSettings, location) = tls {
                        do { security = try tlsSettings.grpcServerSecurity() } catch {
                            throw StartupError(at: location, "\(error)")
                        }
                    }
                    let listener: GRPCListener
                    do {
                        listener = try GRPCListener(addresses: [(key.grpcAddress, security)],
                                                    plan: WorkerPlan(engine: router, group: group),
                                                    maxCallsInService: options.grpcCalls, logger: logger,
                                                    isServing: { state?.isServing ?? !inFlight.isDraining })
                    } catch {
                        throw StartupError(at: nil, "\(error)", isListenFailure: true)
                    }
                    logger.info("gRPC queries are forwarded by the datagram relay", metadata: ["listener": "\(key)"])
                    // Before the first call: a health check must never find the listener up and the daemon starting.
                    state?.listening()
                    listener.start()
                    grpcListeners.append(listener)
                    grpcServers.append(key.metricsLabel)
                }
                listening.append(key.description + (tls != nil && key.scheme == .grpc ? " (TLS)" : ""))
            }
        } catch {
            for listener in dnsListeners { await listener.close() }
            for listener in grpcListeners { await listener.shutdown(gracePeriod: .zero) }
            forwarders.forEach { $0.stop() }
            await exchangeWorkers.close()
            stopPlugins(plugins)
            throw error
        }
        if configuration.servers.contains(where: { $0.ready != nil }) {
            // Readiness needs each set to have heard from an upstream, not just to have no failures yet.
            for forwarder in forwarders {
                for set in forwarder.sets { set.upstreams.forEach { $0.probeUntilAnswered() } }
            }
        }
        return ServerInstance(dnsListeners: dnsListeners, grpcListeners: grpcListeners, grpcServers: grpcServers,
                              forwarders: forwarders, exchangeWorkers: exchangeWorkers, inFlight: inFlight,
                              logger: logger, plugins: plugins,
                              listening: listening)
    }

    private static func blockEngine(_ block: ServerBlockConfiguration, group: MultiThreadedEventLoopGroup,
                                    exchangeWorkers: ExchangeWorkers, logger: Logger, overrides: EngineOverrides)
        throws(StartupError) -> ServerBlockEngine {
        var sets: [UpstreamSet] = []
        for forward in block.forwarders {
            if forward.isDeprecatedProxy {
                logger.notice("the proxy directive is deprecated; use forward (or grpc) instead",
                              metadata: ["at": "\(forward.location)"])
            }
            let metrics = ForwardMetrics(plugin: forward.kind == .grpc ? "grpc" : "forward")
            do {
                sets.append(try UpstreamSetFactory.make(forward, group: group, exchangeWorkers: exchangeWorkers,
                                                       metrics: metrics, logger: logger,
                                                       overrides: overrides))
            } catch {
                sets.forEach { $0.stop() }
                throw error
            }
        }
        let forwarder = sets.isEmpty ? nil : Forwarder(sets: sets)
        let before: [any QueryStep]
        do {
            before = try PluginFactory.plugins(for: block, group: group, logger: logger)
        } catch {
            forwarder?.stop()
            throw error
        }
        return ServerBlockEngine(before: before, forwarder: forwarder,
                                 after: PluginFactory.pluginsAfterForwarders(for: block))
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
                for listener in dnsListeners { await listener.stopAccepting() }
                let pending = inFlight.current
                if await !inFlight.waitUntilIdle(upTo: gracePeriod) {
                    logger.warning("shutdown grace period over; dropping unanswered queries",
                                   metadata: ["in-flight": "\(inFlight.current)"])
                } else if pending > 0 {
                    logger.info("answered the queries in flight", metadata: ["count": "\(pending)"])
                }
                for listener in dnsListeners { await listener.close() }
            }
        }
        forwarders.forEach { $0.stop() }
        await exchangeWorkers.close()
        MetricsCollectors.shared.remove(collector)
        Self.stopPlugins(plugins)
    }

    private static func stopPlugins(_ plugins: [any QueryStep]) {
        plugins.forEach { $0.stop() }
    }
}
