import Foundation
import Synchronization
import Testing
@testable import DnsServiceBridge

/// The doorbell of a gRPC listener's relay on real loopback sockets: armed, it rings once when a watched socket
/// gets a datagram (and not again while that datagram is unread); disarmed, it stays quiet.
@Suite struct RelayDoorbellTests {
    /// Counts rings and lets a test wait for the next one.
    private final class Rings: Sendable {
        private let count = Atomic<Int>(0)
        private let signal = DispatchSemaphore(value: 0)

        var total: Int { count.load(ordering: .acquiring) }

        func ring() {
            count.add(1, ordering: .releasing)
            signal.signal()
        }

        /// Whether a ring came within `seconds`.
        func waitForOne(seconds: Double) -> Bool {
            signal.wait(timeout: .now() + seconds) == .success
        }
    }

    private func socketPair() throws -> (watched: DatagramSocket, sender: DatagramSocket) {
        let watched = try DatagramSocket.bind(host: "127.0.0.1", port: 0)
        let sender = try DatagramSocket.connect(to: try #require(watched.localAddress))
        return (watched, sender)
    }

    private func send(from sender: DatagramSocket) throws {
        let batch = try #require(DatagramBatch(capacity: 1, slotSize: 16))
        #expect(batch.append([1, 2, 3], to: nil))
        batch.flush(on: sender)
    }

    @Test func anArmedDoorbellRingsOnceWhenAReplyComes() throws {
        let doorbell = try #require(RelayDoorbell())
        defer { doorbell.stop() }
        let (watched, sender) = try socketPair()
        let rings = Rings()
        doorbell.arm(sockets: [watched.waitable]) { rings.ring() }
        #expect(!rings.waitForOne(seconds: 0.1), "nothing to read yet")
        try send(from: sender)
        #expect(rings.waitForOne(seconds: 30))
        // The datagram is still unread: the doorbell rang and disarmed, so it neither rings again nor spins.
        #expect(!rings.waitForOne(seconds: 0.2))
        #expect(rings.total == 1)
        // Armed again with the datagram still waiting, it rings at once.
        doorbell.arm(sockets: [watched.waitable]) { rings.ring() }
        #expect(rings.waitForOne(seconds: 30))
        #expect(rings.total == 2)
    }

    @Test func aDisarmedDoorbellStaysQuiet() throws {
        let doorbell = try #require(RelayDoorbell())
        defer { doorbell.stop() }
        let (watched, sender) = try socketPair()
        let rings = Rings()
        doorbell.arm(sockets: [watched.waitable]) { rings.ring() }
        doorbell.disarm()
        try send(from: sender)
        #expect(!rings.waitForOne(seconds: 0.3))
        #expect(rings.total == 0)
    }

    @Test func aStoppedDoorbellNeverRings() throws {
        let doorbell = try #require(RelayDoorbell())
        let (watched, sender) = try socketPair()
        let rings = Rings()
        doorbell.stop()
        doorbell.arm(sockets: [watched.waitable]) { rings.ring() }
        try send(from: sender)
        #expect(!rings.waitForOne(seconds: 0.3))
    }
}
