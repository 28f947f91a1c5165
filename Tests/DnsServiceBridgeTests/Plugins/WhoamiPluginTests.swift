import NIOCore
import Testing
@testable import DnsServiceBridge

@Suite struct WhoamiPluginTests {
    @Test func udpIPv4ClientGetsAAndUDPServiceUnderLowercasedName() throws {
        let query = try PluginTestSupport.query("Who.Example.ORG", .a, id: 0xBEEF, edns: 1232)
        let client = try SocketAddress(ipAddress: "127.0.0.1", port: 40001)
        let reply = WhoamiPlugin.reply(to: query, client: client, transport: .udp)
        let parsed = try DNSMessage(bytes: reply.bytes)
        #expect(parsed.header.id == 0xBEEF)
        #expect(parsed.header.isResponse && parsed.header.isAuthoritative)
        #expect(parsed.rcode == .noError)
        #expect(parsed.header.answerCount == 0)
        #expect(parsed.question == query.question)
        #expect(parsed.edns?.udpPayloadSize == 1232)
        let records = try PluginTestSupport.records(parsed).filter { $0.type != .opt }
        #expect(records == [
            DecodedRecord(section: .additional, name: "who.example.org.", type: .a, ttl: 0, data: [127, 0, 0, 1]),
            DecodedRecord(section: .additional, name: "_udp.who.example.org.", type: .srv, ttl: 0,
                          data: [0, 0, 0, 0, 0x9C, 0x41, 0]),
        ])
    }

    @Test func tcpIPv6ClientGetsAAAAAndTCPService() throws {
        let query = try PluginTestSupport.query("example.org", .aaaa)
        let client = try SocketAddress(ipAddress: "::1", port: 53)
        let reply = WhoamiPlugin.reply(to: query, client: client, transport: .tcp)
        let records = try PluginTestSupport.records(try DNSMessage(bytes: reply.bytes))
        #expect(records.map(\.type) == [.aaaa, .srv])
        #expect(records[0].data == Array(repeating: 0, count: 15) + [1])
        #expect(records[1].name == "_tcp.example.org.")
        #expect(records[1].data == [0, 0, 0, 0, 0, 53, 0])
        #expect(reply.edns == nil)
    }

    @Test func ipv4MappedClientIsAnsweredWithA() throws {
        let query = try PluginTestSupport.query("example.org", .a)
        let client = try SocketAddress(ipAddress: "::ffff:10.1.2.3", port: 1234)
        let records = try PluginTestSupport.records(WhoamiPlugin.reply(to: query, client: client, transport: .tls))
        #expect(records.first?.type == .a)
        #expect(records.first?.data == [10, 1, 2, 3])
        #expect(records.last?.name == "_tcp.example.org.")
    }

    @Test func rootQueryNamesTheServiceUnderTheRoot() throws {
        let query = try PluginTestSupport.query(".", .ns)
        let client = try SocketAddress(ipAddress: "127.0.0.2", port: 9)
        let records = try PluginTestSupport.records(WhoamiPlugin.reply(to: query, client: client, transport: .udp))
        #expect(records.map(\.name) == [".", "_udp."])
    }

    @Test func grpcClientWithoutAddressGetsAnEmptyAuthoritativeReply() throws {
        let query = try PluginTestSupport.query("example.org", .a, edns: 4096)
        let reply = try DNSMessage(bytes: WhoamiPlugin.reply(to: query, client: nil, transport: .grpc).bytes)
        #expect(reply.rcode == .noError)
        #expect(reply.header.isAuthoritative)
        #expect(try PluginTestSupport.records(reply).map(\.type) == [.opt])
    }
}
