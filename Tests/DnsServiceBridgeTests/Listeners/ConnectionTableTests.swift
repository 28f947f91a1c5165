import NIOCore
import NIOEmbedded
import Testing
@testable import DnsServiceBridge

/// The listener's connection table without sockets: `admit` is given the time, so nothing waits.
@Suite struct ConnectionTableTests {
    private func channel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.9", port: 5300)).wait()
        return channel
    }

    @Test func atTheCapOnlyTheConnectionIdleLongestGivesWay() throws {
        let counters = ListenerCounters()
        let table = ConnectionTable(maxConnections: 4, maxPerClient: 10, idleTimeout: .seconds(10), counters: counters)
        let slots = try (0..<4).map { _ in try #require(table.admit(try channel())) }
        slots[0].queryStarted()  // busy: never taken for idle
        // 500 ms later the table is full, so the idle timeout has shrunk as far as it goes (1 s): no connection
        // has been idle that long, and only the one idle longest makes room for the new one.
        let later = NIODeadline.now() + .milliseconds(500)
        #expect(table.admit(try channel(), now: later) != nil)
        #expect(table.count == 4)
        #expect(counters.evictedIdle.load(ordering: .relaxed) == 1)
        // Past the shortest idle timeout, every idle one goes; the busy one stays.
        #expect(table.admit(try channel(), now: later + .seconds(1)) != nil)
        #expect(table.count == 2)
    }

    @Test func oneAddressHoldsAtMostItsShare() throws {
        let table = ConnectionTable(maxConnections: 100, maxPerClient: 2, idleTimeout: .seconds(10),
                                    counters: ListenerCounters())
        #expect(table.admit(try channel()) != nil)
        #expect(table.admit(try channel()) != nil)
        #expect(table.admit(try channel()) == nil)
    }
}
