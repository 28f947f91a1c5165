import NIOCore
import Testing
@testable import DnsServiceBridge

/// The relay's socket layer on real loopback sockets: a batch sent with one sendmmsg arrives whole and in order,
/// with the sender's address, a datagram longer than a slot is flagged, and a closed socket refuses quietly.
@Suite struct DatagramBatchTests {
    private func receiveAll(_ batch: DatagramBatch, from socket: DatagramSocket, expecting count: Int)
        -> [(bytes: [UInt8], cut: Bool, peer: DatagramPeer)] {
        var got: [(bytes: [UInt8], cut: Bool, peer: DatagramPeer)] = []
        for _ in 0..<1500 where got.count < count {
            _ = DatagramReadiness.wait(for: [socket.waitable], timeoutMS: 20)
            _ = batch.receive(from: socket) { bytes, cut, peer in got.append((bytes, cut, peer)) }
        }
        return got
    }

    @Test func aBatchArrivesWholeInOrderWithItsSender() throws {
        let server = try DatagramSocket.bind(host: "127.0.0.1", port: 0)
        let address = try #require(server.localAddress)
        let client = try DatagramSocket.connect(to: address)
        let outgoing = try #require(DatagramBatch(capacity: 4, slotSize: 64))
        for index in 0..<4 { #expect(outgoing.append([UInt8](repeating: UInt8(index), count: 10 + index), to: nil)) }
        #expect(outgoing.isFull)
        #expect(!outgoing.append([1], to: nil), "a full batch takes no more")
        outgoing.flush(on: client)
        #expect(outgoing.isEmpty)

        let incoming = try #require(DatagramBatch(capacity: 8, slotSize: 12))
        let got = receiveAll(incoming, from: server, expecting: 4)
        #expect(got.map(\.bytes.count) == [10, 11, 12, 12])
        #expect(got.map(\.cut) == [false, false, false, true], "13 bytes do not fit a 12-byte slot")
        #expect(got.map { $0.bytes.first } == [0, 1, 2, 3])
        let peer = try #require(got.first?.peer.socketAddress)
        #expect(peer == client.localAddress)
        #expect(got.first?.peer.isIPv6 == false)

        // The answer goes back to the address the datagram came from, on the unconnected socket.
        let replies = try #require(DatagramBatch(capacity: 2, slotSize: 64))
        #expect(replies.append([9, 9, 9], to: try #require(got.first?.peer)))
        replies.flush(on: server)
        #expect(receiveAll(incoming, from: client, expecting: 1).map(\.bytes) == [[9, 9, 9]])
    }

    @Test func aClosedSocketRefusesQuietly() throws {
        let server = try DatagramSocket.bind(host: "127.0.0.1", port: 0)
        let batch = try #require(DatagramBatch(capacity: 1, slotSize: 8))
        server.close()
        #expect(!server.isOpen)
        #expect(server.localAddress == nil)
        #expect(!server.send([1, 2], to: DatagramPeer()))
        #expect(batch.append([1], to: nil))
        batch.flush(on: server)
        #expect(batch.isEmpty, "what was queued for a closed socket is dropped")
        guard case .failure = batch.receive(from: server, { _, _, _ in }) else {
            Issue.record("a closed socket reads nothing")
            return
        }
    }

    @Test func bindingTwiceSharesThePortAndBadHostsAreErrors() throws {
        let first = try DatagramSocket.bind(host: "127.0.0.1", port: 0)
        let port = try #require(first.localAddress?.port)
        let second = try DatagramSocket.bind(host: "127.0.0.1", port: port)  // SO_REUSEPORT, one per relay thread
        #expect(second.localAddress?.port == port)
        #expect(throws: DatagramSocketError.self) { try DatagramSocket.bind(host: "not-an-address", port: 0) }
        let foreign = try? DatagramSocket.bind(host: "192.0.2.1", port: port).localAddress
        #expect(foreign == nil, "an address this host does not have cannot be bound")
    }
}
