import Testing
@testable import DnsServiceBridge

@Suite struct ForwardDirectiveTests {
    @Test func everyOptionAndItsDefault() throws {
        let defaults = ForwardConfiguration(kind: .forward, from: ".", upstreams: [], location: at(1))
        #expect(defaults.policy == .random)
        #expect(defaults.tls == TLSClientSettings(plaintext: false))
        #expect(defaults.expire == .seconds(10))
        #expect(defaults.maxFails == 2)
        #expect(defaults.maxIdleConns == 0)
        #expect(defaults.healthCheck == .init(interval: .milliseconds(500), recursionDesired: true, domain: "."))
        #expect(defaults.maxConcurrent == 0)
        #expect(!defaults.forceTCP && !defaults.preferUDP && !defaults.failfastAllUnhealthyUpstreams)
        #expect(!defaults.multiplexUDP)
        #expect(defaults.nextRcodes.isEmpty && defaults.except.isEmpty && defaults.weights.isEmpty)
        #expect(defaults.legacyProxy == nil && defaults.fallthroughZones == nil && !defaults.isDeprecatedProxy)

        let configuration = try parseCorefile("""
            .:15353 {
                forward example.ORG 127.0.0.1 [::1]:10053 dns://127.0.0.2:10054 {
                    except a.example.org B.example.org.
                    force_tcp
                    prefer_udp
                    multiplex_udp
                    expire 1m30s
                    max_fails 0
                    max_idle_conns 8
                    policy weighted
                    weights 5 1 2
                    health_check 250ms no_rec domain health.example.org
                    max_concurrent 1000
                    failfast_all_unhealthy_upstreams
                    next nxdomain SERVFAIL
                }
            }
            """)
        #expect(configuration.servers[0].forwarders == [
            forwarder([dnsUpstream("127.0.0.1"), dnsUpstream("::1", 10053), dnsUpstream("127.0.0.2", 10054)],
                      from: "example.org.", line: 2) {
                $0.except = ["a.example.org.", "b.example.org."]
                $0.forceTCP = true
                $0.preferUDP = true
                $0.multiplexUDP = true
                $0.expire = .seconds(90)
                $0.maxFails = 0
                $0.maxIdleConns = 8
                $0.policy = .weighted
                $0.weights = [5, 1, 2]
                $0.healthCheck = .init(interval: .milliseconds(250), recursionDesired: false, domain: "health.example.org.")
                $0.maxConcurrent = 1000
                $0.failfastAllUnhealthyUpstreams = true
                $0.nextRcodes = [3, 2]
            },
        ])
    }

    @Test func fromAndExceptDropSchemeAndPortAsCoreDNSDoes() throws {
        let configuration = try parseCorefile(
            ".:15353 {\n    forward dns://Example.org:53 127.0.0.1 {\n        except sub.example.org:53 10.0.0.0/8\n    }\n}\n")
        #expect(configuration.servers[0].forwarders[0].from == "example.org.")
        #expect(configuration.servers[0].forwarders[0].except == ["sub.example.org.", "10.in-addr.arpa."])
        #expect(corefileError(".:15353 {\n    forward 10.0.0.0/25 127.0.0.1\n}\n")
            == "Corefile:2: forward FROM '10.0.0.0/25' is not on a reverse-zone boundary; "
            + "expected a CIDR whose prefix length is a multiple of 8 (IPv4) or 4 (IPv6)")
    }

    @Test func weightedWithoutWeightsWeighsEveryUpstreamOne() throws {
        let configuration = try parseCorefile(".:15353 {\n    forward . 127.0.0.1 127.0.0.2 {\n        policy weighted\n    }\n}\n")
        #expect(configuration.servers[0].forwarders[0].weights == [1, 1])
    }

    @Test func policiesIncludingOursAndFirstAsSequential() throws {
        func policy(_ name: String) throws -> UpstreamPolicy {
            try parseCorefile(".:15353 {\n    forward . 127.0.0.1 {\n        policy \(name)\n    }\n}\n").servers[0].forwarders[0].policy
        }
        #expect(try policy("random") == .random)
        #expect(try policy("round_robin") == .roundRobin)
        #expect(try policy("sequential") == .sequential)
        #expect(try policy("first") == .sequential)
        #expect(try policy("least_conn") == .leastConn)
    }

    @Test func perUpstreamTLSServerNames() throws {
        let configuration = try parseCorefile("""
            .:15353 {
                forward . tls://127.0.0.9#dns.quad9.net tls://127.0.0.1:10853#one.one.one.one tls://127.0.0.8#dns.google:10853 tls://127.0.0.7%cloudflare-dns.com tls://[::1%dns.example]:10853 grpc://127.0.0.6#grpc.example tls://[::2]:10853#v6.example tls://[::3]%v6b.example
            }
            """)
        let forward = configuration.servers[0].forwarders[0]
        #expect(forward.upstreams == [
            UpstreamAddress(transport: .tls, host: "127.0.0.9", port: 853, tlsServerName: "dns.quad9.net"),
            UpstreamAddress(transport: .tls, host: "127.0.0.1", port: 10853, tlsServerName: "one.one.one.one"),
            UpstreamAddress(transport: .tls, host: "127.0.0.8", port: 10853, tlsServerName: "dns.google"),
            UpstreamAddress(transport: .tls, host: "127.0.0.7", port: 853, tlsServerName: "cloudflare-dns.com"),
            UpstreamAddress(transport: .tls, host: "::1", port: 10853, tlsServerName: "dns.example"),
            UpstreamAddress(transport: .grpc, host: "127.0.0.6", port: 443, tlsServerName: "grpc.example"),
            UpstreamAddress(transport: .tls, host: "::2", port: 10853, tlsServerName: "v6.example"),
            UpstreamAddress(transport: .tls, host: "::3", port: 853, tlsServerName: "v6b.example"),
        ])
        #expect(forward.tls == .systemCAs)
        #expect(forward.tlsSettings(for: forward.upstreams[0]) == TLSClientSettings(serverName: "dns.quad9.net"))
        #expect(forward.upstreams.map(\.description) == [
            "tls://127.0.0.9:853", "tls://127.0.0.1:10853", "tls://127.0.0.8:10853", "tls://127.0.0.7:853",
            "tls://[::1]:10853", "grpc://127.0.0.6:443", "tls://[::2]:10853", "tls://[::3]:853",
        ])
    }

    @Test func fifteenUpstreamsAreAllowed() throws {
        let to = (1...15).map { "127.0.0.\($0)" }.joined(separator: " ")
        let configuration = try parseCorefile(".:15353 {\n    forward . \(to)\n}\n")
        #expect(configuration.servers[0].forwarders[0].upstreams.count == 15)
    }

    @Test func resolvConfNameserversCountTowardsTheLimit() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("resolv.conf", (1...10).map { "nameserver 127.0.1.\($0)\n" }.joined())
        #expect(corefileError(".:15353 {\n    forward . \(file) 127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 127.0.0.6\n}\n")
            == "Corefile:2: forward has 16 upstreams; expected at most 15 upstreams per forward")
        let empty = try directory.write("empty.conf", "search example.org\n")
        #expect(corefileError(".:15353 {\n    forward . \(empty)\n}\n")
            == "Corefile:2: resolv.conf file '\(empty)' has no nameserver lines; expected at least one 'nameserver IP' line")
    }

    @Test func severalForwardsChainInOrderThenProxyThenGRPC() throws {
        let configuration = try parseCorefile("""
            .:15353 {
                grpc example.net 127.0.0.3:15443
                forward lab.example.local 127.0.0.20
                proxy example.com 127.0.0.4
                forward example.local 127.0.0.10
            }
            """)
        #expect(configuration.servers[0].forwarders.map(\.kind) == [.forward, .forward, .proxy, .grpc])
        #expect(configuration.servers[0].forwarders.map(\.from) == ["lab.example.local.", "example.local.", "example.com.", "example.net."])
    }

    @Test func oneLineBlocksAndLineContinuation() throws {
        let configuration = try parseCorefile(".:15353 { forward . 127.0.0.1 \\\n    127.0.0.2 { force_tcp }\n}\n")
        #expect(configuration.servers[0].forwarders == [
            forwarder([dnsUpstream("127.0.0.1"), dnsUpstream("127.0.0.2")], line: 1) { $0.forceTCP = true },
        ])
    }

    @Test func singleBlockWithoutBraces() throws {
        let configuration = try parseCorefile(".:15353\nforward . 127.0.0.1\nlog\n")
        #expect(configuration.servers == [
            serverBlock([ListenAddress(zone: ".", port: 15353)]) {
                $0.forwarders = [forwarder([dnsUpstream("127.0.0.1")], line: 2)]
                $0.log = [LogConfiguration()]
            },
        ])
    }
}

@Suite struct GRPCDirectiveTests {
    @Test func plaintextByDefaultAndPort53WithoutScheme() throws {
        let configuration = try parseCorefile(".:15353 {\n    grpc . 127.0.0.1 127.0.0.2:15443 grpc://127.0.0.3 dns://[::1]\n}\n")
        #expect(configuration.servers[0].forwarders == [
            forwarder([
                UpstreamAddress(transport: .grpc, host: "127.0.0.1", port: 53),
                UpstreamAddress(transport: .grpc, host: "127.0.0.2", port: 15443),
                UpstreamAddress(transport: .grpc, host: "127.0.0.3", port: 443),
                UpstreamAddress(transport: .grpc, host: "::1", port: 53),
            ], kind: .grpc, line: 2),
        ])
        let grpc = configuration.servers[0].forwarders[0]
        #expect(grpc.tls == .insecure && grpc.tls.variant == .insecure)
        #expect(grpc.maxFails == 0)
    }

    @Test func everyOption() throws {
        let directory = try TemporaryDirectory()
        let ca = try directory.write("ca.pem")
        let configuration = try parseCorefile("""
            .:15353 {
                grpc example.org 127.0.0.1:15443 {
                    except internal.example.org
                    tls ca.pem
                    tls_servername grpc.example.org
                    policy round_robin
                    fallthrough
                }
            }
            """, workingDirectory: directory.path)
        #expect(configuration.servers[0].forwarders == [
            forwarder([UpstreamAddress(transport: .grpc, host: "127.0.0.1", port: 15443)], kind: .grpc, from: "example.org.", line: 2) {
                $0.except = ["internal.example.org."]
                $0.tls = TLSClientSettings(caFile: ca, serverName: "grpc.example.org")
                $0.tlsLocation = SourceLocation(file: "Corefile", line: 4)
                $0.policy = .roundRobin
                $0.fallthroughZones = ["."]
            },
        ])
    }

    @Test func serverNameAloneMeansSystemCAs() throws {
        let configuration = try parseCorefile(".:15353 {\n    grpc . 127.0.0.1:15443 {\n        tls_servername dns.example\n    }\n}\n")
        #expect(configuration.servers[0].forwarders[0].tls == TLSClientSettings(serverName: "dns.example"))
    }

    @Test func perUpstreamNameNeedsTLS() {
        #expect(corefileError(".:15353 {\n    grpc . grpc://127.0.0.1#a.example\n}\n")
            == "Corefile:2: upstream grpc://127.0.0.1:443 names a TLS server but this grpc has no tls option; "
            + "expected a 'tls' option in the grpc block, or no '#NAME'")
        #expect(corefileError(".:15353 {\n    grpc . tls://127.0.0.1\n}\n")
            == "Corefile:2: unsupported upstream scheme 'tls' for grpc in 'tls://127.0.0.1'; expected grpc:// or no scheme")
    }
}

@Suite struct OtherDirectiveTests {
    @Test func observabilityDefaultsAndValues() throws {
        let configuration = try parseCorefile("""
            .:15353 {
                prometheus
                health
                ready
            }
            .:15354 {
                prometheus [::1]:19153
                health 127.0.0.1:18080 {
                    lameduck 5s
                }
                ready :18181
            }
            """)
        #expect(configuration.servers.map(\.prometheus) == [
            PrometheusConfiguration(address: "localhost:9153"), PrometheusConfiguration(address: "[::1]:19153"),
        ])
        #expect(configuration.servers.map(\.health) == [
            HealthConfiguration(address: ":8080", lameduck: .zero), HealthConfiguration(address: "127.0.0.1:18080", lameduck: .seconds(5)),
        ])
        #expect(configuration.servers.map(\.ready) == [ReadyConfiguration(address: ":8181"), ReadyConfiguration(address: ":18181")])
    }

    @Test func hostsFileZonesInlineEntriesAndOptions() throws {
        let directory = try TemporaryDirectory()
        let hostsFile = try directory.write("hosts", "127.0.0.5 a.example.org\n")
        let configuration = try parseCorefile("""
            example.org:15353 example.net:15353 {
                hosts
            }
            .:15354 {
                hosts hosts example.org {
                    127.0.0.6 b.example.org B2.example.org
                    ::1 v6.example.org
                    ttl 60
                    reload 0
                    no_reverse
                    fallthrough example.org
                }
            }
            """, workingDirectory: directory.path)
        #expect(configuration.servers.map(\.hosts) == [
            HostsConfiguration(file: "/etc/hosts", zones: ["example.org.", "example.net."]),
            HostsConfiguration(
                file: hostsFile, zones: ["example.org."],
                entries: [
                    .init(address: "127.0.0.6", names: ["b.example.org.", "b2.example.org."]),
                    .init(address: "::1", names: ["v6.example.org."]),
                ],
                fallthroughZones: ["example.org."], ttl: 60, reload: .zero, autoReverse: false),
        ])
        #expect(configuration.servers[0].hosts?.ttl == 3600)
        #expect(configuration.servers[0].hosts?.reload == .seconds(5))
        #expect(configuration.warnings.isEmpty)
    }

    @Test func missingHostsFileIsOnlyAWarning() throws {
        let configuration = try parseCorefile(".:15353 {\n    hosts /nonexistent/hosts\n}\n")
        #expect(configuration.servers[0].hosts?.file == "/nonexistent/hosts")
        #expect(configuration.warnings == [ConfigurationWarning(at: at(2), "hosts file '/nonexistent/hosts' does not exist")])
    }

    @Test func cacheTTLAndZones() throws {
        let configuration = try parseCorefile("""
            example.org:15353 {
                cache
            }
            .:15354 {
                cache example.org 10.0.0.0/8
            }
            .:15355 {
                cache 300 example.net
            }
            """)
        #expect(configuration.servers.map(\.cache) == [
            CacheConfiguration(ttl: nil, zones: ["example.org."]),
            CacheConfiguration(ttl: nil, zones: ["example.org.", "10.in-addr.arpa."]),
            CacheConfiguration(ttl: 300, zones: ["example.net."]),
        ])
        #expect(configuration.servers[0].cache?.successTTL == 3600)
        #expect(configuration.servers[0].cache?.denialTTL == 1800)
    }

    @Test func reloadIntervalJitterAndClamp() throws {
        func reload(_ arguments: String) throws -> ReloadConfiguration? {
            try parseCorefile(".:15353 {\n    reload \(arguments)\n}\n").servers[0].reload
        }
        #expect(try reload("") == ReloadConfiguration(interval: .seconds(30), jitter: .seconds(15)))
        #expect(try reload("10s") == ReloadConfiguration(interval: .seconds(10), jitter: .seconds(5)))
        #expect(try reload("1m 5s") == ReloadConfiguration(interval: .seconds(60), jitter: .seconds(5)))
        #expect(try reload("2s 0") == ReloadConfiguration(interval: .seconds(2), jitter: .zero))
        #expect(corefileError(".:15353 {\n    reload 10s 500ms\n}\n")
            == "Corefile:2: reload jitter '500ms' is too short; expected 0 or at least 1s")
    }

    @Test func logNamesFormatAndClasses() throws {
        let configuration = try parseCorefile("""
            .:15353 {
                log
                log example.org
                log example.org example.net "{remote} {name}" {
                    class denial error
                }
            }
            """)
        #expect(configuration.servers[0].log == [
            LogConfiguration(),
            LogConfiguration(names: ["example.org."]),
            LogConfiguration(names: ["example.org.", "example.net."], format: "{remote} {name}", classes: [.denial, .error]),
        ])
    }

    @Test func errorsWithStacktraceAndConsolidation() throws {
        let configuration = try parseCorefile(#"""
            .:15353 {
                errors stdout {
                    stacktrace
                    consolidate 5m ".* i/o timeout$" warning
                    consolidate 30s "^Failed to .+" show_first
                }
            }
            """#)
        #expect(configuration.servers[0].errors == ErrorsConfiguration(stacktrace: true, consolidations: [
            .init(period: .seconds(300), pattern: ".* i/o timeout$", level: "warning"),
            .init(period: .seconds(30), pattern: "^Failed to .+", showFirst: true),
        ]))
    }

    @Test func bindAddressesInterfacesAndExcept() throws {
        let configuration = try parseCorefile("""
            .:15353 {
                bind 127.0.0.1 ::1 lo {
                    except ::1
                }
                bind 127.0.0.2
                whoami
            }
            .:15353 {
                bind 127.0.0.3
                whoami
            }
            """)
        #expect(configuration.servers[0].bind == ["127.0.0.1", "::1", "lo", "127.0.0.2"])
        #expect(configuration.servers[0].bindExcept == ["::1"])
        #expect(configuration.servers[0].listenHosts == ["127.0.0.1", "lo", "127.0.0.2"])
        #expect(configuration.servers[1].listenHosts == ["127.0.0.3"])
        #expect(corefileError(".:15353 {\n    bind not/an/address\n}\n")
            == "Corefile:2: bind 'not/an/address' is not an IP address or interface name; "
            + "expected IP addresses or interface names such as 127.0.0.1, ::1 or lo")
    }

    @Test func serverTLSWithClientCAAndClientAuth() throws {
        let directory = try TemporaryDirectory()
        let cert = try directory.write("server.crt")
        let key = try directory.write("server.key")
        let ca = try directory.write("clients.crt")
        let configuration = try parseCorefile("""
            tls://.:18853 grpc://.:11443 {
                tls server.crt server.key clients.crt {
                    client_auth require_and_verify
                }
                forward . 127.0.0.1
            }
            """, workingDirectory: directory.path)
        #expect(configuration.servers[0].tls == TLSServerSettings(
            certFile: cert, keyFile: key, clientCAFile: ca, clientAuthentication: .requireAndVerify))
        #expect(configuration.warnings.isEmpty)
        #expect(corefileError("tls://.:18853 {\n    tls \(cert) \(key) {\n        client_auth maybe\n    }\n}\n")
            == "Corefile:3: unknown client_auth 'maybe'; expected one of nocert, request, require, verify_if_given, require_and_verify")
    }
}

@Suite struct DoHConfigurationTests {
    @Test func httpsKeysAndUpstreams() throws {
        let configuration = try parseCorefile("""
            https://example.org {
                forward . https://9.9.9.9 https://[2620:fe::fe]:8443/resolve#dns.quad9.net https://1.1.1.1/dns-query {
                    doh_method get
                }
            }
            """)
        let block = configuration.servers[0]
        #expect(block.keys.map(\.description) == ["https://example.org.:443"])
        let forward = try #require(block.forwarders.first)
        #expect(forward.dohMethod == .get)
        #expect(forward.upstreams == [
            UpstreamAddress(transport: .https, host: "9.9.9.9", port: 443),
            UpstreamAddress(transport: .https, host: "2620:fe::fe", port: 8443, tlsServerName: "dns.quad9.net",
                            path: "/resolve"),
            UpstreamAddress(transport: .https, host: "1.1.1.1", port: 443, path: "/dns-query"),
        ])
        #expect(forward.upstreams[0].dohPath == "/dns-query")
        #expect(forward.upstreams[1].description == "https://[2620:fe::fe]:8443/resolve")
        #expect(corefileError(".:53 {\n    forward . https://9.9.9.9 {\n        doh_method PUT\n    }\n}\n")
            == "Corefile:3: doh_method 'PUT'; expected GET or POST")
    }
}
