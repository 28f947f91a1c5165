import Testing
@testable import DnsServiceBridge

/// The gRPC listener's hand-over to a relay thread: queries wait unannounced until the batch ends, one announcement
/// makes the relay's wait return once, and taking them empties the inbox and quiets the wait again.
@Suite struct RelayInboxTests {
    private func isReadable(_ inbox: RelayInbox) -> Bool {
        DatagramReadiness.wait(for: [inbox.descriptor ?? -1], timeoutMS: 0).first == true
    }

    @Test func aBatchIsAnnouncedOnceAndTakenWhole() throws {
        let inbox = try #require(RelayInbox())
        let query = DNSMessage.query(name: try DNSName("example.org."), type: .a, id: 7)
        #expect(!isReadable(inbox))
        for _ in 0..<3 { inbox.submit(.init(query: query, client: .datagram(DatagramPeer()))) }
        #expect(!isReadable(inbox), "nothing is announced before the batch ends")
        inbox.announce()
        inbox.announce()
        #expect(isReadable(inbox))
        let taken = inbox.take()
        #expect(taken.count == 3 && taken.allSatisfy { $0.query.header.id == 7 })
        #expect(!isReadable(inbox), "one wake-up for the batch, drained by take")
        inbox.announce()
        #expect(!isReadable(inbox), "an empty inbox is not announced")
        #expect(inbox.take().isEmpty)
    }

    @Test func aClosedInboxNeverWakes() throws {
        let inbox = try #require(RelayInbox())
        inbox.close()
        #expect(inbox.descriptor == nil)
        let query = DNSMessage.query(name: .root, type: .ns, id: 1)
        inbox.submit(.init(query: query, client: .datagram(DatagramPeer())))
        inbox.announce()
        #expect(!isReadable(inbox))
        #expect(inbox.take().count == 1, "what was queued is still handed over, to be answered by the engine")
    }
}
