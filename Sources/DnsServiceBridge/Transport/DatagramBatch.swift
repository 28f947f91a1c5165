import CGRPC

#if canImport(Glibc)
import Glibc
#endif

/// Slots for many datagrams, read with one `recvmmsg` or sent with one `sendmmsg`. Owned and used by one thread
/// (the relay's); the buffers are the shim's, allocated once, so a packet costs a copy in or out and nothing else.
/// Bytes cross to C as arrays only: no pointer is made or kept on this side.
final class DatagramBatch {
    private let batch: OpaquePointer
    let capacity: Int
    let slotSize: Int

    /// nil when the memory cannot be had.
    init?(capacity: Int, slotSize: Int) {
        guard let batch = cgrpc_dgram_batch_create(Int32(capacity), Int32(slotSize)) else { return nil }
        self.batch = batch
        self.capacity = capacity
        self.slotSize = slotSize
    }

    deinit {
        cgrpc_dgram_batch_destroy(batch)
    }

    /// Reads what is ready on `socket` (up to `capacity`) and hands each datagram to `body` with its sender and
    /// whether it was longer than a slot. Returns how many were read, or the system's error number when the read
    /// failed (EAGAIN: nothing was ready).
    func receive(from socket: DatagramSocket,
                 _ body: (_ bytes: [UInt8], _ cut: Bool, _ peer: DatagramPeer) -> Void) -> Result<Int, Errno> {
        guard let count = socket.withDescriptor({ cgrpc_dgram_receive($0, batch) }) else {
            return .failure(Errno(EBADF))
        }
        guard count >= 0 else { return .failure(Errno(-count)) }
        for index in 0..<count {
            var cut: Int32 = 0
            var peer = cgrpc_dgram_peer()
            let length = cgrpc_dgram_received(batch, index, &cut, &peer)
            var bytes = [UInt8](repeating: 0, count: length)
            _ = cgrpc_dgram_copy_received(batch, index, &bytes, length)
            body(bytes, cut != 0, DatagramPeer(peer))
        }
        return .success(Int(count))
    }

    /// Queues a datagram (to `peer`, or on a connected socket nil); false when full or too big for a slot.
    func append(_ bytes: [UInt8], to peer: DatagramPeer?) -> Bool {
        guard var raw = peer?.raw else { return cgrpc_dgram_append(batch, bytes, bytes.count, nil) == 0 }
        return cgrpc_dgram_append(batch, bytes, bytes.count, &raw) == 0
    }

    var isFull: Bool { Int(cgrpc_dgram_appended(batch)) >= capacity }
    var isEmpty: Bool { cgrpc_dgram_appended(batch) == 0 }

    /// Sends everything queued on `socket` and empties the batch.
    func flush(on socket: DatagramSocket) {
        guard !isEmpty else { return }
        if socket.withDescriptor({ cgrpc_dgram_flush($0, batch) }) == nil {
            // Closed under us (shutdown): the queued datagrams are dropped (every send fails) and the batch empties.
            _ = cgrpc_dgram_flush(-1, batch)
        }
    }
}
