import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import DnsServiceBridge

@Suite struct EventLoopHandoffTests {
    @Test func workRunsOnlyAfterFlushOnItsOwnLoopInOrder() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loops = Array(group.makeIterator())
        let handoff = EventLoopHandoff()
        let ran = Mutex<[(index: Int, onItsLoop: Bool)]>([])
        for index in 0..<10 {
            let loop = loops[index % 2]
            handoff.enqueue(on: loop) {
                ran.withLock { $0.append((index, loop.inEventLoop)) }
            }
        }
        // Let the loops run whatever they were given: nothing yet, before the flush.
        try await loops[0].submit {}.get()
        try await loops[1].submit {}.get()
        let ranEarly = ran.withLock { $0.count }
        #expect(ranEarly == 0)

        handoff.flush()
        try await loops[0].submit {}.get()
        try await loops[1].submit {}.get()
        let done = ran.withLock { $0 }
        #expect(done.count == 10)
        let offLoop = done.filter { !$0.onItsLoop }.count
        #expect(offLoop == 0, "every piece of work runs on the loop it was queued for")
        for parity in 0..<2 {
            let order = done.map(\.index).filter { $0 % 2 == parity }
            #expect(order == order.sorted(), "each loop runs its work in the order it was queued")
        }

        handoff.flush()  // nothing queued: nothing runs twice
        try await loops[0].submit {}.get()
        let ranTotal = ran.withLock { $0.count }
        #expect(ranTotal == 10)
        try await group.shutdownGracefully()
    }
}
