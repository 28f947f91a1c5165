import Foundation
import Logging
import Testing
@testable import DnsServiceBridge

@Suite struct HostsPluginTests {
    static let fileText = """
        # a comment line
        192.0.2.10   www.example.org  alias.example.org   # trailing comment
        2001:db8::10 www.example.org
        192.0.2.20   v4only.example.org
        192.0.2.99   outside.example.net
        not-an-ip    broken.example.org
        10.0.0.1
        ::ffff:192.0.2.30 mapped.example.org

        """

    private func plugin(_ directory: TemporaryDirectory, fileText: String = HostsPluginTests.fileText,
                        entries: [HostsConfiguration.Entry] = [], fallthroughZones: [String]? = nil,
                        reverse: Bool = true) throws -> HostsPlugin {
        let file = try directory.write("hosts", fileText)
        let configuration = HostsConfiguration(file: file, zones: ["example.org."], entries: entries,
                                               fallthroughZones: fallthroughZones, ttl: 300, reload: .zero,
                                               autoReverse: reverse)
        return HostsPlugin(configuration, logger: Logger(label: "test"))
    }

    private func answer(_ plugin: HostsPlugin, _ name: String, _ type: DNSRecordType) throws -> DNSMessage? {
        let query = try PluginTestSupport.query(name, type)
        guard let question = query.question else { return nil }
        switch plugin.answer(query, question: question) {
        case .reply(let reply): return try DNSMessage(bytes: reply.bytes)
        case .next: return nil
        }
    }

    @Test func tableSkipsCommentsBadLinesAndNamesOutsideTheZones() throws {
        let table = HostsTable(parsing: Self.fileText, zones: [try DNSName("example.org")], reverse: true)
        #expect(table.addresses(of: try DNSName("WWW.example.org"), ipv6: false) == [[192, 0, 2, 10]])
        #expect(table.addresses(of: try DNSName("www.example.org"), ipv6: true).count == 1)
        #expect(table.addresses(of: try DNSName("outside.example.net"), ipv6: false).isEmpty)
        #expect(table.addresses(of: try DNSName("broken.example.org"), ipv6: false).isEmpty)
        #expect(table.addresses(of: try DNSName("mapped.example.org"), ipv6: false) == [[192, 0, 2, 30]])
        #expect(table.names(for: [192, 0, 2, 10]).map(\.description) == ["www.example.org.", "alias.example.org."])
    }

    @Test func answersAAndAAAAFromTheFileWithTheTTL() throws {
        let directory = try TemporaryDirectory()
        let hosts = try plugin(directory)
        let a = try #require(try answer(hosts, "Www.Example.org", .a))
        #expect(a.rcode == .noError && a.header.isAuthoritative)
        #expect(try PluginTestSupport.records(a) == [
            DecodedRecord(section: .answer, name: "www.example.org.", type: .a, ttl: 300, data: [192, 0, 2, 10]),
        ])
        let aaaa = try #require(try answer(hosts, "www.example.org", .aaaa))
        #expect(try PluginTestSupport.records(aaaa).map(\.type) == [.aaaa])
    }

    @Test func knownNameWithoutThatTypeIsNoData() throws {
        let directory = try TemporaryDirectory()
        let hosts = try plugin(directory, fallthroughZones: ["."])
        for type in [DNSRecordType.aaaa, .mx] {
            let reply = try #require(try answer(hosts, "v4only.example.org", type))
            #expect(reply.rcode == .noError)
            #expect(reply.header.answerCount == 0)
        }
    }

    @Test func unknownNameIsServFailWithoutFallthroughAndNextWithIt() throws {
        let directory = try TemporaryDirectory()
        let strict = try plugin(directory)
        #expect(try answer(strict, "nope.example.org", .a)?.rcode == .servFail)
        let falling = try plugin(directory, fallthroughZones: ["example.org."])
        #expect(try answer(falling, "nope.example.org", .a) == nil)
        let otherZone = try plugin(directory, fallthroughZones: ["other.org."])
        #expect(try answer(otherZone, "nope.example.org", .a)?.rcode == .servFail)
    }

    @Test func namesOutsideTheZonesGoToTheNextPlugin() throws {
        let directory = try TemporaryDirectory()
        #expect(try answer(try plugin(directory), "outside.example.net", .a) == nil)
    }

    @Test func ptrFromTheFileUnlessNoReverse() throws {
        let directory = try TemporaryDirectory()
        let ptr = try #require(try answer(try plugin(directory), "10.2.0.192.in-addr.arpa", .ptr))
        let records = try PluginTestSupport.records(ptr)
        #expect(records.count == 2)
        #expect(records.first?.data == (try DNSName("www.example.org.")).wireBytes)
        let v6 = "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        #expect(try answer(try plugin(directory), v6, .ptr)?.header.answerCount == 1)
        #expect(try answer(try plugin(directory, reverse: false), "10.2.0.192.in-addr.arpa", .ptr) == nil)
        #expect(try answer(try plugin(directory), "77.2.0.192.in-addr.arpa", .ptr) == nil)
    }

    @Test func inlineEntriesAddToTheFile() throws {
        let directory = try TemporaryDirectory()
        let hosts = try plugin(directory, entries: [.init(address: "192.0.2.11", names: ["www.example.org."]),
                                                    .init(address: "198.51.100.1", names: ["inline.example.org."])])
        let www = try #require(try answer(hosts, "www.example.org", .a))
        #expect(try PluginTestSupport.records(www).map(\.data) == [[192, 0, 2, 10], [192, 0, 2, 11]])
        #expect(try answer(hosts, "inline.example.org", .a)?.header.answerCount == 1)
    }

    @Test func reReadsTheFileWhenItChanges() throws {
        let directory = try TemporaryDirectory()
        let hosts = try plugin(directory)
        #expect(try answer(hosts, "new.example.org", .a)?.rcode == .servFail)
        try directory.write("hosts", Self.fileText + "203.0.113.5 new.example.org\n")
        hosts.readIfChanged()
        #expect(try answer(hosts, "new.example.org", .a)?.header.answerCount == 1)
        // A file that disappears keeps the last entries, as in CoreDNS.
        try FileManager.default.removeItem(atPath: directory.path + "/hosts")
        hosts.readIfChanged()
        #expect(try answer(hosts, "new.example.org", .a)?.header.answerCount == 1)
    }

    @Test func reverseNames() throws {
        #expect(ReverseName.address(from: try DNSName("4.3.2.1.in-addr.arpa.")) == [1, 2, 3, 4])
        #expect(ReverseName.address(from: try DNSName("3.2.1.in-addr.arpa.")) == nil)
        #expect(ReverseName.address(from: try DNSName("256.3.2.1.in-addr.arpa.")) == nil)
        #expect(ReverseName.address(from: try DNSName("www.example.org.")) == nil)
    }
}
