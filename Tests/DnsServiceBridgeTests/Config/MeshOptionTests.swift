import Testing
@testable import DnsServiceBridge

/// Issue 20's configuration: gRPC upstreams gRPC core resolves itself (unix sockets, names), unix-socket
/// listeners, the client's address passed on, latency-aware selection and channel pools.
@Suite struct MeshOptionTests {
    private func upstreams(_ directive: String) throws -> [UpstreamAddress] {
        try parseCorefile(".:15353 {\n    \(directive)\n}\n").servers[0].forwarders[0].upstreams
    }

    @Test func unixSocketUpstreamsInEveryForm() throws {
        for text in ["grpc . unix:///run/dnsgrpcd.sock", "grpc . unix:/run/dnsgrpcd.sock",
                     "forward . grpc://unix:/run/dnsgrpcd.sock", "forward . grpc://unix:///run/dnsgrpcd.sock"] {
            let upstream = try #require(try upstreams(text).first)
            #expect(upstream.grpcTarget == "unix:/run/dnsgrpcd.sock", "\(text)")
            #expect(upstream.description == "grpc://unix:/run/dnsgrpcd.sock")
        }
        let relative = try parseCorefile(".:15353 {\n    grpc . unix:g.sock\n}\n", workingDirectory: "/srv/dns")
        #expect(relative.servers[0].forwarders[0].upstreams[0].grpcTarget == "unix:/srv/dns/g.sock")
        #expect(corefileError(".:15353 {\n    grpc . unix://\n}\n")
            == "Corefile:2: upstream 'unix://' names no socket path; expected unix:///PATH, such as unix:///run/dnsgrpcd.sock")
        let long = "/" + String(repeating: "d", count: 120)
        #expect(corefileError(".:15353 {\n    grpc . unix://\(long)\n}\n")
            == "Corefile:2: unix socket path '\(long)' is too long; expected a path of at most 107 bytes")
    }

    @Test func namedTargetsAreResolvedByGRPCCore() throws {
        #expect(try upstreams("grpc . dns:///resolver.dns.svc.cluster.local:8053")[0].grpcTarget
            == "dns:///resolver.dns.svc.cluster.local:8053")
        #expect(try upstreams("grpc . dns://127.0.0.1:5399/svc.test")[0].grpcTarget
            == "dns://127.0.0.1:5399/svc.test:443")
        // A host name: grpc's default port is CoreDNS's 53, grpc:// in forward 443.
        #expect(try upstreams("grpc . resolver.example")[0].grpcTarget == "dns:///resolver.example:53")
        #expect(try upstreams("forward . grpc://resolver.example")[0].grpcTarget == "dns:///resolver.example:443")
        #expect(try upstreams("forward . grpc://resolver.example:8443")[0].description
            == "grpc://dns:///resolver.example:8443")
        // An IP address stays an address; DNS upstreams still refuse names.
        #expect(try upstreams("grpc . 127.0.0.1:5553")[0].grpcTarget == "127.0.0.1:5553")
        #expect(corefileError(".:15353 {\n    forward . resolver.example\n}\n")?
            .hasPrefix("Corefile:2: upstream 'resolver.example' is not an IP address or an existing file") == true)
        #expect(corefileError(".:15353 {\n    grpc . dns:///bad_name!:53\n}\n")?
            .hasPrefix("Corefile:2: bad gRPC upstream name 'bad_name!'") == true)
        #expect(corefileError(".:15353 {\n    grpc . dns:///svc.test:99999\n}\n")
            == "Corefile:2: upstream 'dns:///svc.test:99999' is not a gRPC name target; "
            + "expected dns:///NAME[:PORT] or dns://RESOLVER[:PORT]/NAME[:PORT]")
    }

    @Test func meshOptionsAndTheirDefaults() throws {
        let plain = try parseCorefile(".:15353 {\n    grpc . 127.0.0.1:5553\n}\n").servers[0].forwarders[0].mesh
        #expect(plain == MeshConfiguration())
        #expect(plain.channels == 1 && plain.clientSubnet == nil && !plain.sendClientAddress && plain.keepalive == nil)
        let mesh = try parseCorefile("""
            .:15353 {
                grpc . 127.0.0.1:5553 {
                    client_subnet 20 48
                    send_client_address
                    channels 4
                    keepalive 30s 5s
                    policy least_outstanding
                }
            }
            """).servers[0].forwarders[0]
        #expect(mesh.mesh.clientSubnet == MeshConfiguration.ClientSubnet(ipv4Prefix: 20, ipv6Prefix: 48))
        #expect(mesh.mesh.sendClientAddress && mesh.mesh.channels == 4)
        #expect(mesh.mesh.keepalive == MeshConfiguration.Keepalive(interval: .seconds(30), timeout: .seconds(5)))
        #expect(mesh.policy == .leastOutstanding)
        let forward = try parseCorefile(".:15353 {\n    forward . 127.0.0.1 {\n        client_subnet\n        policy least_outstanding\n    }\n}\n")
            .servers[0].forwarders[0]
        #expect(forward.mesh.clientSubnet == MeshConfiguration.ClientSubnet(ipv4Prefix: 24, ipv6Prefix: 56))
        #expect(forward.policy == .leastOutstanding)
    }

    @Test func badMeshOptions() {
        func error(_ option: String) -> String? {
            corefileError(".:15353 {\n    grpc . 127.0.0.1:5553 {\n        \(option)\n    }\n}\n")
        }
        #expect(error("client_subnet 33") == "Corefile:3: client_subnet IPv4 prefix 33 is out of range; expected 0 to 32 bits")
        #expect(error("client_subnet 24 129")
            == "Corefile:3: client_subnet IPv6 prefix 129 is out of range; expected 0 to 128 bits")
        #expect(error("channels 0") == "Corefile:3: channels 0 is out of range; expected 1 to 64 channels")
        #expect(error("keepalive 1s") == "Corefile:3: keepalive 1s is too short; expected an interval of at least 10s "
            + "and a timeout of at least 1s")
        #expect(error("send_client_address yes") != nil)
        #expect(error("policy fastest")?.hasPrefix("Corefile:3: unknown policy 'fastest' for grpc") == true)
    }

    @Test func unixSocketListenerKeys() throws {
        let directory = try TemporaryDirectory()
        let configuration = try parseCorefile("""
            grpc://unix:\(directory.path)/d.sock {
                unix_socket 0660 0:0
                trusted_proxies unix 10.0.0.0/8 ::1
                whoami
            }
            """)
        let block = configuration.servers[0]
        #expect(block.keys[0].unixPath == directory.path + "/d.sock")
        #expect(block.keys[0].zone == ".")
        #expect(block.listenHosts(for: block.keys[0]) == ["unix:\(directory.path)/d.sock"])
        #expect(block.unixSocket == UnixSocketPermissions(mode: 0o660, owner: 0, group: 0))
        #expect(block.trustedProxies.unixPeers)
        #expect(block.trustedProxies.networks.map(\.description) == ["10.0.0.0/8", "::1/128"])
        #expect(block.trustedProxies.trusts(ClientIP(bytes: [10, 1, 2, 3]))
            && !block.trustedProxies.trusts(ClientIP(bytes: [11, 0, 0, 1])))
        #expect(block.trustedProxies.trusts(nil))

        let file = try directory.write("taken")
        #expect(corefileError("grpc://unix:\(file) {\n    whoami\n}\n")
            == "Corefile:1: '\(file)' exists and is not a unix socket; expected a path that is free or holds a socket "
            + "(which is replaced)")
        #expect(corefileError("grpc://unix:/run/d.sock {\n    unix_socket 0999\n}\n")
            == "Corefile:2: unix_socket mode '0999' is not octal; expected permission bits in octal, such as 0660")
        #expect(corefileError("grpc://unix:/run/d.sock {\n    unix_socket 0660 no-such-user-here\n}\n")
            == "Corefile:2: unknown user 'no-such-user-here' in unix_socket; expected a user of this system, by name or number")
        #expect(corefileError(".:15353 {\n    trusted_proxies 10.0.0.0/33\n}\n")
            == "Corefile:2: trusted_proxies '10.0.0.0/33' is not a network; expected an IP address or CIDR such as "
            + "10.0.0.0/8, or unix")
    }
}
