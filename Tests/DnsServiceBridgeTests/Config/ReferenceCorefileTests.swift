import Testing
@testable import DnsServiceBridge

/// Every Corefile example in shared/reference/ that uses what we support, moved to loopback addresses and high
/// ports, parsed and compared structure for structure.
@Suite struct ReferenceCorefileTests {
    // MARK: coredns-forward-plugin.md and the forward manpage

    @Test func forwardToANameserverOnAnotherPort() throws {
        let configuration = try parseCorefile("""
            example.org:15353 {
                forward . 127.0.0.1:9005
            }
            """)
        #expect(configuration == Configuration(servers: [
            serverBlock([ListenAddress(zone: "example.org.", port: 15353)]) {
                $0.forwarders = [forwarder([dnsUpstream("127.0.0.1", 9005)], line: 2)]
            },
        ]))
    }

    @Test func forwardLoadBalancesOverThreeResolversOneIPv6() throws {
        let configuration = try parseCorefile("""
            .:15353 {
                forward . 127.0.0.10:10053 127.0.0.11:11053 [::1]:10053
            }
            """)
        #expect(configuration.servers == [
            serverBlock([ListenAddress(zone: ".", port: 15353)]) {
                $0.forwarders = [forwarder(
                    [dnsUpstream("127.0.0.10", 10053), dnsUpstream("127.0.0.11", 11053), dnsUpstream("::1", 10053)],
                    line: 2)]
            },
        ])
        #expect(configuration.servers[0].forwarders[0].upstreams.map(\.description)
            == ["127.0.0.10:10053", "127.0.0.11:11053", "[::1]:10053"])
    }

    @Test func forwardEverythingExceptExampleOrg() throws {
        let configuration = try parseCorefile("""
            .:15353 {
                forward . 127.0.0.10:1234 {
                    except example.org
                }
            }
            """)
        #expect(configuration.servers == [
            serverBlock([ListenAddress(zone: ".", port: 15353)]) {
                $0.forwarders = [forwarder([dnsUpstream("127.0.0.10", 1234)], line: 2) { $0.except = ["example.org."] }]
            },
        ])
    }

    @Test func forwardUsingAResolvConfFile() throws {
        let directory = try TemporaryDirectory()
        let resolvConf = try directory.write("resolv.conf", """
            # generated
            search example.org
            nameserver 127.0.0.53
            nameserver ::1 ; local
            options edns0
            nameserver fe80::1%lo
            """)
        let configuration = try parseCorefile("""
            .:15353 {
                forward . \(resolvConf) {
                    except example.org
                }
            }
            """)
        #expect(configuration.servers == [
            serverBlock([ListenAddress(zone: ".", port: 15353)]) {
                $0.forwarders = [forwarder(
                    [dnsUpstream("127.0.0.53"), dnsUpstream("::1"), dnsUpstream("fe80::1")], line: 2
                ) { $0.except = ["example.org."] }]
            },
        ])
    }

    @Test func forwardOverTLSWithServerNameHealthCheckAndCache() throws {
        let configuration = try parseCorefile("""
            .:15353 {
                forward . tls://127.0.0.9 {
                   tls_servername dns.quad9.net
                   health_check 5s
                }
                cache 30
            }
            """)
        #expect(configuration.servers == [
            serverBlock([ListenAddress(zone: ".", port: 15353)]) {
                $0.forwarders = [forwarder([UpstreamAddress(transport: .tls, host: "127.0.0.9", port: 853)], line: 2) {
                    $0.tls = TLSClientSettings(serverName: "dns.quad9.net")
                    $0.healthCheck.interval = .seconds(5)
                }]
                $0.cache = CacheConfiguration(ttl: 30, zones: ["."])
            },
        ])
        let forward = configuration.servers[0].forwarders[0]
        #expect(forward.tls.variant == .systemCAs)
        #expect(forward.upstreams[0].description == "tls://127.0.0.9:853")
        #expect(configuration.servers[0].cache?.successTTL == 30)
        #expect(configuration.servers[0].cache?.denialTTL == 30)
    }

    @Test func forwardTLSTakesZeroToThreeArguments() throws {
        let directory = try TemporaryDirectory()
        let ca = try directory.write("ca.pem")
        let cert = try directory.write("cert.pem")
        let key = try directory.write("key.pem")
        func tls(_ arguments: String) throws -> TLSClientSettings {
            let text = ".:15353 {\n    forward . tls://127.0.0.9 {\n        tls \(arguments)\n    }\n}\n"
            return try parseCorefile(text, workingDirectory: directory.path).servers[0].forwarders[0].tls
        }
        #expect(try tls("") == TLSClientSettings())
        #expect(try tls("ca.pem") == TLSClientSettings(caFile: ca))
        #expect(try tls("cert.pem key.pem") == TLSClientSettings(certFile: cert, keyFile: key))
        #expect(try tls("\(cert) \(key) ca.pem") == TLSClientSettings(caFile: ca, certFile: cert, keyFile: key))
        #expect(try tls("").variant == .systemCAs)
        #expect(try tls("ca.pem").variant == .ca)
        #expect(try tls("cert.pem key.pem").variant == .clientCert)
        #expect(try tls("cert.pem key.pem ca.pem").variant == .mutual)
    }

    // MARK: coredns-load-balancing-article.txt

    @Test func roundRobinWithErrorsCacheMetricsHostsAndReload() throws {
        let configuration = try parseCorefile("""
            .:15353 {
                errors
                cache 30
                forward . 127.0.0.10 127.0.0.11 {
                   policy round_robin
                }
                prometheus 127.0.0.1:19153
                hosts {
                   fallthrough
                }
                reload
            }
            """)
        #expect(configuration.servers == [
            serverBlock([ListenAddress(zone: ".", port: 15353)]) {
                $0.errors = ErrorsConfiguration()
                $0.cache = CacheConfiguration(ttl: 30, zones: ["."])
                $0.forwarders = [forwarder([dnsUpstream("127.0.0.10"), dnsUpstream("127.0.0.11")], line: 4) {
                    $0.policy = .roundRobin
                }]
                $0.prometheus = PrometheusConfiguration(address: "127.0.0.1:19153")
                $0.hosts = HostsConfiguration(file: "/etc/hosts", zones: ["."], fallthroughZones: ["."])
                $0.reload = ReloadConfiguration(interval: .seconds(30), jitter: .seconds(15))
            },
        ])
    }

    // MARK: coredns-proxy-plugin.txt

    @Test func proxyToABackend() throws {
        let configuration = try parseCorefile("""
            example.org:15353 {
                proxy example.org 127.0.0.1:9005
            }
            """)
        let expected = forwarder([dnsUpstream("127.0.0.1", 9005)], kind: .proxy, from: "example.org.", line: 2)
        #expect(configuration.servers[0].forwarders == [expected])
        #expect(expected.legacyProxy == LegacyProxySettings(failTimeout: .seconds(2), spray: false, upstreamProtocol: .dns))
        #expect(expected.maxFails == 1)
        #expect(expected.isDeprecatedProxy)
        #expect(configuration.warnings == [
            ConfigurationWarning(at: at(2), "proxy is deprecated (removed in CoreDNS 1.5); use forward instead"),
        ])
    }

    @Test func proxyLoadBalancesRandomlyAndRoundRobin() throws {
        let configuration = try parseCorefile("""
            .:15353 {
                proxy . 127.0.0.10:10053 127.0.0.11:11053 127.0.0.12
            }
            .:15354 {
                proxy . 127.0.0.10:10053 127.0.0.11:11053 127.0.0.12 {
                    policy round_robin
                }
            }
            """)
        let upstreams = [dnsUpstream("127.0.0.10", 10053), dnsUpstream("127.0.0.11", 11053), dnsUpstream("127.0.0.12")]
        #expect(configuration.servers == [
            serverBlock([ListenAddress(zone: ".", port: 15353)]) { $0.forwarders = [forwarder(upstreams, kind: .proxy, line: 2)] },
            serverBlock([ListenAddress(zone: ".", port: 15354)], line: 4) {
                $0.forwarders = [forwarder(upstreams, kind: .proxy, line: 5) { $0.policy = .roundRobin }]
            },
        ])
    }

    @Test func proxyWithHTTPHealthCheck() throws {
        let configuration = try parseCorefile("""
            .:15353 {
                proxy . 127.0.0.11:10053 127.0.0.11:10053 127.0.0.12:10053 {
                    policy round_robin
                    health_check /health:18080
                }
            }
            """)
        #expect(configuration.servers[0].forwarders == [
            forwarder([dnsUpstream("127.0.0.11", 10053), dnsUpstream("127.0.0.11", 10053), dnsUpstream("127.0.0.12", 10053)], kind: .proxy, line: 2) {
                $0.policy = .roundRobin
                $0.legacyProxy?.httpHealthCheck = LegacyProxySettings.HTTPHealthCheck(path: "/health", port: 18080, interval: .seconds(4))
            },
        ])
    }

    @Test func proxyExceptTwoNamesAndFromResolvConf() throws {
        let directory = try TemporaryDirectory()
        let resolvConf = try directory.write("resolv.conf", "nameserver 127.0.0.53\n")
        let configuration = try parseCorefile("""
            .:15353 {
                proxy . 127.0.0.10:1234 {
                    except miek.nl example.org
                }
            }
            .:15354 {
                proxy . \(resolvConf) {
                    except example.org
                }
            }
            """)
        #expect(configuration.servers.map(\.forwarders) == [
            [forwarder([dnsUpstream("127.0.0.10", 1234)], kind: .proxy, line: 2) { $0.except = ["miek.nl.", "example.org."] }],
            [forwarder([dnsUpstream("127.0.0.53")], kind: .proxy, line: 7) { $0.except = ["example.org."] }],
        ])
    }

    @Test func proxyExpandedSyntaxWithGRPCProtocol() throws {
        let directory = try TemporaryDirectory()
        let key = try directory.write("client.key")
        let cert = try directory.write("client.crt")
        let ca = try directory.write("ca.crt")
        let configuration = try parseCorefile("""
            .:15353 {
                proxy . 127.0.0.1:15443 {
                    policy least_conn
                    fail_timeout 5s
                    max_fails 3
                    health_check /health:18080 10s
                    except internal.example.org
                    spray
                    protocol grpc client.key client.crt ca.crt
                }
            }
            """, workingDirectory: directory.path)
        #expect(configuration.servers[0].forwarders == [
            forwarder([UpstreamAddress(transport: .grpc, host: "127.0.0.1", port: 15443)], kind: .proxy, line: 2) {
                $0.policy = .leastConn
                $0.maxFails = 3
                $0.except = ["internal.example.org."]
                $0.tls = TLSClientSettings(caFile: ca, certFile: cert, keyFile: key)
                $0.tlsLocation = at(9)
                $0.legacyProxy = LegacyProxySettings(
                    failTimeout: .seconds(5),
                    httpHealthCheck: .init(path: "/health", port: 18080, interval: .seconds(10)),
                    spray: true, upstreamProtocol: .grpc)
            },
        ])
        #expect(configuration.warnings.map(\.description)
            == ["Corefile:2: proxy is deprecated (removed in CoreDNS 1.5); use grpc instead"])
    }

    @Test func proxyProtocolVariants() throws {
        let directory = try TemporaryDirectory()
        let ca = try directory.write("ca.crt")
        func proxy(_ option: String) throws -> ForwardConfiguration {
            let text = ".:15353 {\n    proxy . 127.0.0.1:15443 {\n        \(option)\n    }\n}\n"
            return try parseCorefile(text, workingDirectory: directory.path).servers[0].forwarders[0]
        }
        #expect(try proxy("protocol dns force_tcp").forceTCP)
        #expect(try proxy("protocol dns").upstreams == [dnsUpstream("127.0.0.1", 15443)])
        #expect(try proxy("protocol grpc").tls == .systemCAs)
        #expect(try proxy("protocol grpc insecure").tls.variant == .insecure)
        #expect(try proxy("protocol grpc ca.crt").tls == TLSClientSettings(caFile: ca))
        #expect(try proxy("policy first").policy == .sequential)
    }

    // MARK: coredns-readme-and-pool-commit.txt (CoreDNS README)

    @Test func quickStartForwardAndLog() throws {
        let configuration = try parseCorefile("""
            .:15353 {
                forward . 127.0.0.8
                log
            }
            """)
        #expect(configuration.servers == [
            serverBlock([ListenAddress(zone: ".", port: 15353)]) {
                $0.forwarders = [forwarder([dnsUpstream("127.0.0.8")], line: 2)]
                $0.log = [LogConfiguration(names: ["."], format: nil, classes: [.all])]
            },
        ])
    }

    @Test func whoamiOnExplicitAndDefaultPorts() throws {
        #expect(try parseCorefile(".:15353 {\n    whoami\n}\n").servers
            == [serverBlock([ListenAddress(zone: ".", port: 15353)]) { $0.whoami = true }])
        #expect(try parseCorefile(".:11053 {\n    whoami\n}\n").servers
            == [serverBlock([ListenAddress(zone: ".", port: 11053)]) { $0.whoami = true }])
        // "coredns -dns.port 1053" for a Corefile whose key has no port.
        #expect(try parseCorefile(". {\n    whoami\n}\n", defaultPort: 11053).servers
            == [serverBlock([ListenAddress(zone: ".", port: 11053)]) { $0.whoami = true }])
    }

    @Test func builtInDefaultIsWhoamiAndLog() throws {
        let configuration = try parseCorefile(ConfigurationLoader.defaultCorefile(port: 15353))
        #expect(configuration.servers == [
            serverBlock([ListenAddress(zone: ".", port: 15353)]) {
                $0.whoami = true
                $0.log = [LogConfiguration()]
            },
        ])
    }

    @Test func importInsideABlockAndAtTheTopLevel() throws {
        let directory = try TemporaryDirectory()
        let example1 = try directory.write("example1.txt", "whoami\nlog\n")
        let example2 = try directory.write("example2.txt", "example.org:15353 {\n    forward . 127.0.0.1:9005\n}\n")
        let corefile = try directory.write("Corefile", """
            .:15353 {
                import example1.txt
            }
            import example2.txt
            """)
        let configuration = try ConfigurationLoader.load(file: corefile, environment: [:])
        #expect(configuration == Configuration(servers: [
            serverBlock([ListenAddress(zone: ".", port: 15353)], file: corefile) {
                $0.whoami = true
                $0.log = [LogConfiguration()]
            },
            serverBlock([ListenAddress(zone: "example.org.", port: 15353)], file: example2) {
                $0.forwarders = [forwarder([dnsUpstream("127.0.0.1", 9005)], line: 2, file: example2)]
            },
        ]))
        _ = example1
    }

    @Test func environmentVariableAsADirective() throws {
        let configuration = try parseCorefile(".:15353 {\n    {$ENV_VAR}\n}\n", environment: ["ENV_VAR": "whoami"])
        #expect(configuration.servers == [serverBlock([ListenAddress(zone: ".", port: 15353)]) { $0.whoami = true }])
    }

    @Test func forwardWithPortAndLog() throws {
        let configuration = try parseCorefile(".:15353 {\n    forward . 127.0.0.8:10053\n    log\n}\n")
        #expect(configuration.servers[0].forwarders == [forwarder([dnsUpstream("127.0.0.8", 10053)], line: 2)])
        #expect(configuration.servers[0].log == [LogConfiguration()])
    }

    @Test func cidrKeysAsReverseZones() throws {
        let configuration = try parseCorefile("""
            10.0.0.0/24:15353 {
                whoami
            }
            10.0.0.0/24.:15353 {
                whoami
            }
            10.0.1.0/25:15353 {
                whoami
            }
            2001:db8::/32:15353 {
                whoami
            }
            """)
        #expect(configuration.servers.map(\.keys) == [
            [ListenAddress(zone: "0.0.10.in-addr.arpa.", port: 15353)],
            [ListenAddress(zone: "10.0.0.0/24.", port: 15353)],
            [ListenAddress(zone: "1.0.10.in-addr.arpa.", port: 15353,
                           reverseFilter: ReverseNetwork(addressBytes: [10, 0, 1, 0], prefixLength: 25))],
            [ListenAddress(zone: "8.b.d.0.1.0.0.2.ip6.arpa.", port: 15353)],
        ])
        #expect(configuration.servers.map(\.whoami) == [true, true, true, true])
    }

    @Test func tlsAndGRPCKeys() throws {
        let configuration = try parseCorefile("tls://example.org:18853 grpc://example.org:11443 {\n    whoami\n}\n")
        #expect(configuration.servers == [
            serverBlock([
                ListenAddress(scheme: .tls, zone: "example.org.", port: 18853),
                ListenAddress(scheme: .grpc, zone: "example.org.", port: 11443),
            ]) { $0.whoami = true },
        ])
        #expect(configuration.warnings.map(\.description) == [
            "Corefile:1: server block key tls://example.org.:18853 has no tls directive, so there is no certificate to serve DNS over TLS with",
        ])
    }

    @Test func tlsKeyWithServerCertificate() throws {
        let directory = try TemporaryDirectory()
        let cert = try directory.write("mycert")
        let key = try directory.write("mykey")
        let configuration = try parseCorefile(
            "tls://example.org:18853 {\n    whoami\n    tls mycert mykey\n}\n", workingDirectory: directory.path)
        #expect(configuration == Configuration(servers: [
            serverBlock([ListenAddress(scheme: .tls, zone: "example.org.", port: 18853)]) {
                $0.whoami = true
                $0.tls = TLSServerSettings(certFile: cert, keyFile: key)
                $0.tlsLocation = at(3)
            },
        ]))
    }

    @Test func readmeExamplesWithUnsupportedPluginsAreRefusedByName() {
        #expect(corefileError("example.org:11053 {\n    file /var/lib/coredns/example.org.signed\n}\n")
            == "Corefile:2: unknown directive 'file'; expected one of bind, cache, errors, forward, grpc, health, "
            + "hosts, limits, loadbalance, log, loop, prometheus, proxy, ratelimit, ready, reflection, reload, timeouts, "
            + "tls, trusted_proxies, unix_socket, whoami")
        #expect(corefileError("quic://example.org {\n    whoami\n}\n")
            == "Corefile:1: unsupported scheme 'quic' in server block key 'quic://example.org'; "
            + "expected dns://, tls://, grpc:// or https://")
        // DoH is served: CoreDNS's README example of an https:// block parses.
        #expect(corefileError("https://example.org:1444 {\n    whoami\n}\n") == nil)
    }
}
