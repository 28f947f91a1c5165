import Testing
@testable import DnsServiceBridge

/// `timeouts` (CoreDNS's) and `limits` (ours): what a listener holds for its clients, and how blocks sharing a
/// listener give it.
@Suite struct ListenerOptionTests {
    @Test func timeoutsAsCoreDNSWritesThem() throws {
        func timeouts(_ block: String) throws -> TimeoutsConfiguration? {
            try parseCorefile("tls://.:15353 {\n    timeouts {\n\(block)\n    }\n}\n").servers[0].timeouts
        }
        #expect(try timeouts("read 10s\nwrite 20s\nidle 60s")
            == TimeoutsConfiguration(read: .seconds(10), write: .seconds(20), idle: .seconds(60)))
        #expect(try timeouts("idle 24h") == TimeoutsConfiguration(idle: .seconds(86_400)))
        #expect(corefileError(".:15353 {\n    timeouts {\n        read 500ms\n    }\n}\n")
            == "Corefile:3: timeouts read '500ms' is out of range; expected a duration from 1s to 24h")
        #expect(corefileError(".:15353 {\n    timeouts {\n        dial 5s\n    }\n}\n")
            == "Corefile:3: unknown option 'dial' in timeouts; expected one of idle, read, write")
        #expect(corefileError(".:15353 {\n    timeouts\n}\n") == "Corefile:2: timeouts sets no timeout; expected at "
            + "least one of read, write, idle in a block: 'timeouts { read DURATION; write DURATION; idle DURATION }'")
    }

    @Test func limitsOfWhatAListenerHolds() throws {
        let configuration = try parseCorefile("""
            .:15353 {
                limits {
                    connections 5000
                    connections_per_client 16
                    pipeline 64
                    grpc_calls 100
                }
            }
            """)
        #expect(configuration.servers[0].limits
            == LimitsConfiguration(connections: 5000, connectionsPerClient: 16, pipeline: 64, grpcCalls: 100))
        #expect(corefileError(".:15353 {\n    limits {\n        connections 0\n    }\n}\n")
            == "Corefile:3: limits connections 0 is out of range; expected a whole number from 1 to 1000000")
        #expect(corefileError(".:15353 {\n    limits {\n        streams 5\n    }\n}\n")
            == "Corefile:3: unknown option 'streams' in limits; expected one of connections, connections_per_client, "
            + "grpc_calls, pipeline")
    }

    @Test func theFirstBlockOnAListenerThatSetsAnOptionGivesIt() throws {
        let configuration = try parseCorefile("""
            example.org:15353 {
                timeouts {
                    idle 30s
                }
                whoami
            }
            .:15353 {
                timeouts {
                    idle 5s
                    read 2s
                }
                limits {
                    connections 10
                }
                whoami
            }
            """)
        var options = ListenerOptions()
        configuration.servers.forEach { options.take(from: $0) }
        let settings = options.applied(to: DNSListener.Settings())
        #expect(settings.idleTimeout == .seconds(30))
        #expect(settings.frameTimeout == .seconds(2))
        #expect(settings.drainTimeout == DNSListener.Settings().drainTimeout)
        #expect(settings.maxConnections == 10)
        #expect(settings.maxConnectionsPerClient == DNSListener.Settings().maxConnectionsPerClient)
        #expect(options.grpcCalls == GRPCListener.maxCallsInService)
    }
}
