import Logging
import NIOPosix
import NIOSSL

/// A configuration built and checked with nothing bound: every block's engine (upstream sets and plugins) and,
/// for each listener, its routes, options and loaded TLS credentials. `ServerInstance.start` binds it; a check
/// (`-validate`) discards it, so both find the same errors at the same FILE:LINE.
struct InstancePlan {
    /// One listening socket to bind and what it serves.
    struct Listener {
        let key: ListenerKey
        var routes: [ListenerEngine.Route] = []
        var options = ListenerOptions()
        /// The first block's `tls` on this socket, as CoreDNS takes it.
        var tls: (settings: TLSServerSettings, location: SourceLocation)?
        /// DNS over TLS, or DoH with `tls`: the loaded server context (with ALPN for DoH).
        var tlsContext: NIOSSLContext?
        /// gRPC: the loaded server credentials.
        var grpcSecurity = GRPCServerSecurity.insecure
        /// gRPC over a unix socket: its mode and owner (the first block's that sets them).
        var unixSocket: UnixSocketPermissions?
        /// gRPC: the peers whose metadata may name their client (every block's on this socket).
        var trustedProxies = TrustedProxies()
    }

    /// The workers that make the UDP exchanges event loops ask for (see `ExchangeWorkers`).
    let exchangeWorkers: ExchangeWorkers
    var forwarders: [Forwarder] = []
    /// The plugins of every block, kept to stop their background work (hosts file re-reads).
    var plugins: [any QueryStep] = []
    /// In the order of the Corefile's first mention.
    var listeners: [Listener] = []

    /// Builds every block's chain and loads every listener's credentials; on any failure, what was built is
    /// stopped.
    static func build(_ configuration: Configuration, group: MultiThreadedEventLoopGroup, logger: Logger,
                      overrides: EngineOverrides) async throws(StartupError) -> InstancePlan {
        guard let exchangeWorkers = ExchangeWorkers(count: group.loopCount, logger: logger) else {
            throw StartupError(at: nil, "cannot start the UDP exchange workers: the system gave no eventfd")
        }
        var plan = InstancePlan(exchangeWorkers: exchangeWorkers)
        do throws(StartupError) {
            var index: [ListenerKey: Int] = [:]
            for block in configuration.servers {
                let engine = try blockEngine(block, group: group, exchangeWorkers: exchangeWorkers, logger: logger,
                                             overrides: overrides)
                if let forwarder = engine.forwarder { plan.forwarders.append(forwarder) }
                plan.plugins += engine.steps
                for key in block.keys {
                    if key.scheme == .tls && block.tls == nil {
                        throw StartupError(at: block.location, "server block \(key) serves DNS over TLS "
                            + "without a certificate; expected a 'tls CERT KEY [CA]' directive in the block")
                    }
                    let zone: DNSName
                    do { zone = try DNSName(key.zone) } catch { throw StartupError(at: block.location, "\(error)") }
                    for host in block.listenHosts(for: key) {
                        let listenerKey = ListenerKey(scheme: key.scheme, host: host, port: key.port)
                        let at = index[listenerKey] ?? {
                            plan.listeners.append(Listener(key: listenerKey))
                            index[listenerKey] = plan.listeners.count - 1
                            return plan.listeners.count - 1
                        }()
                        plan.listeners[at].routes.append(
                            ListenerEngine.Route(zone: zone, network: key.reverseFilter, block: engine))
                        plan.listeners[at].options.take(from: block)
                        plan.listeners[at].unixSocket = plan.listeners[at].unixSocket ?? block.unixSocket
                        plan.listeners[at].trustedProxies = plan.listeners[at].trustedProxies
                            .merged(with: block.trustedProxies)
                        if let tls = block.tls, plan.listeners[at].tls == nil {
                            plan.listeners[at].tls = (tls, block.tlsLocation ?? block.location)
                        }
                    }
                }
            }
            for at in plan.listeners.indices { try plan.listeners[at].loadCredentials() }
        } catch {
            await plan.discard()
            throw error
        }
        return plan
    }

    /// Stops what `build` started: the upstream sets, the exchange workers and the plugins.
    func discard() async {
        forwarders.forEach { $0.stop() }
        await exchangeWorkers.close()
        plugins.forEach { $0.stop() }
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
            before = try PluginFactory.plugins(for: block, forwarder: forwarder, group: group, logger: logger)
        } catch {
            forwarder?.stop()
            throw error
        }
        return ServerBlockEngine(before: before, forwarder: forwarder,
                                 after: PluginFactory.pluginsAfterForwarders(for: block))
    }
}

extension InstancePlan.Listener {
    /// Reads the certificate, key and CA files of the listener's `tls`; errors point at that `tls` line.
    fileprivate mutating func loadCredentials() throws(StartupError) {
        guard let (settings, location) = tls else { return }
        do {
            switch key.scheme {
            case .tls: tlsContext = try settings.dotServerContext()
            case .https: tlsContext = try settings.dohServerContext()
            case .grpc: grpcSecurity = try settings.grpcServerSecurity()
            // Plain DNS ignores `tls`, as CoreDNS's dns:// servers do.
            case .dns: break
            }
        } catch {
            throw StartupError(at: location, "\(error)")
        }
    }
}
