import Logging
import NIOCore
import NIOPosix
import NIOSSL

/// Builds the engine's upstream set for one `forward`, `grpc` or `proxy` directive.
enum UpstreamSetFactory {
    static func make(_ config: ForwardConfiguration, group: any EventLoopGroup, exchangeWorkers: ExchangeWorkers,
                     metrics: ForwardMetrics, logger: Logger, overrides: EngineOverrides)
        throws(StartupError) -> UpstreamSet {
        var options = forwardOptions(config)
        if let timeout = overrides.requestTimeout {
            options.requestTimeout = TimeAmount(timeout)
            options.exchangeTimeout = min(options.exchangeTimeout, options.requestTimeout)
        }
        var transports: [(any UpstreamExchanger, weight: Int)] = []
        for (index, upstream) in config.upstreams.enumerated() {
            let weight = config.policy == .weighted && index < config.weights.count ? config.weights[index] : 1
            transports.append((try transport(for: upstream, in: config, options: options, group: group,
                                              exchangeWorkers: exchangeWorkers), weight))
        }
        let zone: DNSName
        let except: [DNSName]
        do {
            zone = try DNSName(config.from)
            except = try config.except.map { name throws(DNSWireError) in try DNSName(name) }
        } catch {
            throw StartupError(at: config.location, "\(error)")
        }
        var upstreamLogger = logger
        upstreamLogger[metadataKey: "zone"] = "\(config.from)"
        return UpstreamSet(zone: zone, except: except, transports: transports, policy: policy(config.policy),
                           options: options, metrics: metrics, group: group, logger: upstreamLogger)
    }

    static func forwardOptions(_ config: ForwardConfiguration) -> ForwardOptions {
        var options = ForwardOptions()
        options.forceTCP = config.forceTCP
        options.preferUDP = config.preferUDP && !config.forceTCP
        options.expire = TimeAmount(config.expire)
        options.maxFails = config.maxFails
        options.maxIdleConnections = config.maxIdleConns
        options.healthCheckInterval = TimeAmount(config.healthCheck.interval)
        options.healthCheckName = (try? DNSName(config.healthCheck.domain)) ?? .root
        options.healthCheckRecursionDesired = config.healthCheck.recursionDesired
        options.maxConcurrent = config.maxConcurrent
        options.failFastWhenAllDown = config.failfastAllUnhealthyUpstreams
        options.nextRcodes = Set(config.nextRcodes.map { DNSResponseCode(rawValue: UInt16(clamping: $0)) })
        options.fallthroughZones = (config.fallthroughZones ?? []).compactMap { try? DNSName($0) }
        options.clientSubnet = config.mesh.clientSubnet
        options.sendClientAddress = config.mesh.sendClientAddress
        if let legacy = config.legacyProxy {
            // proxy counts failed exchanges themselves, each for fail_timeout; without `spray` it gives up
            // when every upstream is down instead of trying one at random.
            options.failTimeout = TimeAmount(legacy.failTimeout)
            options.failFastWhenAllDown = !legacy.spray
        }
        return options
    }

    static func policy(_ policy: UpstreamPolicy) -> LoadBalancingPolicy {
        switch policy {
        case .random: return .random
        case .roundRobin: return .roundRobin
        case .sequential: return .sequential
        case .leastConn: return .leastConnections
        case .weighted: return .weighted
        case .leastOutstanding: return .leastOutstanding
        }
    }

    static func transport(for upstream: UpstreamAddress, in config: ForwardConfiguration,
                                  options: ForwardOptions, group: any EventLoopGroup, exchangeWorkers: ExchangeWorkers)
        throws(StartupError) -> any UpstreamExchanger {
        let label = upstream.description
        let tls = config.tlsSettings(for: upstream)
        let speaksGRPC = config.kind == .grpc || config.legacyProxy?.upstreamProtocol == .grpc
        // Certificate problems point at the `tls` line that named the files.
        let tlsLocation = config.tlsLocation ?? config.location
        do {
            switch speaksGRPC ? .grpc : upstream.transport {
            case .dns:
                return DNSUpstreamTransport(label: label, address: try address(of: upstream, in: config),
                                            group: group, exchangeWorkers: exchangeWorkers, expire: options.expire,
                                            maxIdleConnections: options.maxIdleConnections)
            case .tls:
                let context: NIOSSLContext
                do { context = try tls.dotClientContext() } catch {
                    throw StartupError(at: tlsLocation, "upstream \(label): \(error)")
                }
                return DoTUpstreamTransport(label: label, address: try address(of: upstream, in: config),
                                            sslContext: context, serverName: tls.serverName ?? upstream.host,
                                            group: group, expire: options.expire,
                                            maxIdleConnections: options.maxIdleConnections)
            case .https:
                let context: NIOSSLContext
                do { context = try tls.dohClientContext() } catch {
                    throw StartupError(at: tlsLocation, "upstream \(label): \(error)")
                }
                return DoHUpstreamTransport(label: label, address: try address(of: upstream, in: config),
                                            sslContext: context, serverName: tls.serverName ?? upstream.host,
                                            path: upstream.dohPath, method: config.dohMethod, group: group,
                                            expire: options.expire)
            case .grpc:
                let security: GRPCChannelSecurity
                do { security = try tls.grpcChannelSecurity() } catch {
                    throw StartupError(at: tlsLocation, "upstream \(label): \(error)")
                }
                var settings = GRPCChannel.Settings()
                settings.roundRobin = upstream.resolverTarget?.hasPrefix("dns:") ?? false
                settings.keepaliveInterval = config.mesh.keepalive?.interval
                settings.keepaliveTimeout = config.mesh.keepalive?.timeout ?? settings.keepaliveTimeout
                return try GRPCUpstreamTransport(label: label, target: upstream.grpcTarget, security: security,
                                                 settings: settings, channels: config.mesh.channels, group: group)
            }
        } catch let error as StartupError {
            throw error
        } catch {
            throw StartupError(at: config.location, "upstream \(label): \(error)")
        }
    }

    private static func address(of upstream: UpstreamAddress, in config: ForwardConfiguration)
        throws(StartupError) -> SocketAddress {
        do {
            return try SocketAddress(ipAddress: upstream.host, port: upstream.port)
        } catch {
            throw StartupError(at: config.location,
                               "upstream \(upstream) is not an IP address; expected an IPv4 or IPv6 address")
        }
    }
}

extension TimeAmount {
    /// The same span as a NIO time amount (nanosecond precision).
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
