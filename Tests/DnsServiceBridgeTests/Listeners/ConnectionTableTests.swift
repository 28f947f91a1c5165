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
        // Every time is given, from one start: a loaded machine's pauses between the lines change nothing.
        let start = NIODeadline.now()
        let slots = try (0..<4).map { index in
            try #require(table.admit(try channel(), now: start + .milliseconds(Int64(index))))
        }
        slots[0].queryStarted()  // busy: never taken for idle
        // 500 ms later the table is full, so the idle timeout has shrunk as far as it goes (1 s): no connection
        // has been idle that long, and only the one idle longest makes room for the new one.
        let later = start + .milliseconds(500)
        #expect(table.admit(try channel(), now: later) != nil)
        #expect(table.count == 4)
        #expect(counters.evictedIdle.load(ordering: .relaxed) == 1)
        // Past the shortest idle timeout, every idle one goes; the busy one stays.
        #expect(table.admit(try channel(), now: later + .seconds(1)) != nil)
        #expect(table.count == 2)
    }

    @Test func underPressureAConnectionThatAskedKeepsItsIdleTimeout() throws {
        let counters = ListenerCounters()
        let table = ConnectionTable(maxConnections: 4, maxPerClient: 10, idleTimeout: .seconds(10), counters: counters)
        let start = NIODeadline.now()
        let asker = try #require(table.admit(try channel(), now: start))
        asker.queryStarted()
        asker.queryEnded()  // idle from now on, like a client between two queries
        let silent = try (1...3).map { index in
            try #require(table.admit(try channel(), now: start + .milliseconds(Int64(index))))
        }
        _ = silent
        // 5 s later, full: the sweep takes every silent connection, not the one that asked.
        let later = start + .seconds(5)
        #expect(table.admit(try channel(), now: later) != nil)
        #expect(table.count == 2)
        #expect(counters.evictedIdle.load(ordering: .relaxed) == 3)
    }

    @Test func atTheCapAConnectionThatNeverAskedGivesWayFirst() throws {
        let counters = ListenerCounters()
        let table = ConnectionTable(maxConnections: 2, maxPerClient: 10, idleTimeout: .seconds(10), counters: counters)
        let (askerChannel, silentChannel) = (try channel(), try channel())
        let start = NIODeadline.now()
        let asker = try #require(table.admit(askerChannel, now: start))  // idle longest: it came first
        asker.queryStarted()
        asker.queryEnded()
        _ = try #require(table.admit(silentChannel, now: start + .milliseconds(1)))
        // Half a second later both are idle, under the shortest idle timeout: at the cap one gives way, and it is
        // the one that never asked, though the other has been idle longer.
        #expect(table.admit(try channel(), now: start + .milliseconds(500)) != nil)
        #expect(counters.evictedIdle.load(ordering: .relaxed) == 1)
        #expect(table.count == 2)
        #expect(askerChannel.isActive)
        #expect(!silentChannel.isActive)
    }

    @Test func oneAddressHoldsAtMostItsShare() throws {
        let table = ConnectionTable(maxConnections: 100, maxPerClient: 2, idleTimeout: .seconds(10),
                                    counters: ListenerCounters())
        #expect(table.admit(try channel()) != nil)
        #expect(table.admit(try channel()) != nil)
        #expect(table.admit(try channel()) == nil)
    }
}
