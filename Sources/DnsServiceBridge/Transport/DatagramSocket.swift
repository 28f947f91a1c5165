import CGRPC
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A non-blocking UDP socket outside NIO, for the workers (`Worker`, `UDPLane`). The descriptor sits behind a lock:
/// its worker's thread reads and writes in batches, any other thread may send a single reply, and `close()` is
/// seen by all of them at once (a closed descriptor number is never reused under a late send).
final class DatagramSocket: Sendable {
    private let descriptor: OwnedDescriptor

    private init(descriptor: Int32) {
        self.descriptor = OwnedDescriptor(descriptor)
    }

    /// Bound to host:port with SO_REUSEPORT, so one socket per relay thread shares the port; `receiveBuffer` bytes of
    /// SO_RCVBUF (capped by the kernel at net.core.rmem_max), 0 for the system's default.
    static func bind(host: String, port: Int, receiveBuffer: Int = 0) throws(DatagramSocketError) -> DatagramSocket {
        let fd = cgrpc_dgram_bind(host, Int32(port), Int32(receiveBuffer))
        guard fd >= 0 else { throw DatagramSocketError(operation: "bind to \(host):\(port)", code: -fd) }
        return DatagramSocket(descriptor: fd)
    }

    /// Connected to `address` from a port the kernel picks at random (so the kernel drops other sources).
    static func connect(to address: SocketAddress) throws(DatagramSocketError) -> DatagramSocket {
        guard let host = address.ipAddress, let port = address.port else {
            throw DatagramSocketError(operation: "connect to \(address)", code: EAFNOSUPPORT)
        }
        let fd = cgrpc_dgram_connect(host, Int32(port))
        guard fd >= 0 else { throw DatagramSocketError(operation: "connect to \(address)", code: -fd) }
        return DatagramSocket(descriptor: fd)
    }

    /// Another owner of the same socket (a reload hands a listener's sockets on); nil once this one is closed.
    func duplicate() -> DatagramSocket? {
        let fd = withDescriptor { cgrpc_fd_duplicate($0) } ?? -1
        return fd >= 0 ? DatagramSocket(descriptor: fd) : nil
    }

    /// The bound address (with the port the kernel chose for port 0).
    var localAddress: SocketAddress? {
        withDescriptor { fd -> SocketAddress? in
            var local = cgrpc_dgram_peer()
            guard cgrpc_dgram_local(fd, &local) == 0 else { return nil }
            return DatagramPeer(local).socketAddress
        } ?? nil
    }

    var isOpen: Bool { descriptor.isOpen }

    /// The descriptor for a readiness wait; -1 (never ready) once closed.
    var waitable: Int32 { withDescriptor { $0 } ?? -1 }

    /// Runs `body` with the descriptor, or returns nil once closed.
    func withDescriptor<Result: Sendable>(_ body: (Int32) -> Result) -> Result? {
        descriptor.withDescriptor(body)
    }

    /// One datagram now, from any thread; false when the kernel refused it or the socket is closed.
    @discardableResult
    func send(_ bytes: [UInt8], to peer: DatagramPeer) -> Bool {
        var raw = peer.raw
        return withDescriptor { fd in cgrpc_dgram_send(fd, bytes, bytes.count, &raw) >= 0 } ?? false
    }

    /// One datagram now on a connected socket; false when the kernel refused it or the socket is closed.
    func send(_ bytes: [UInt8]) -> Bool {
        withDescriptor { fd in cgrpc_dgram_send(fd, bytes, bytes.count, nil) >= 0 } ?? false
    }

    /// The error the kernel queued on the socket (ECONNREFUSED after an ICMP port unreachable), cleared.
    func takeError() -> Int32 {
        withDescriptor { cgrpc_dgram_take_error($0) } ?? 0
    }

    func close() {
        descriptor.close()
    }
}

/// A socket call that failed, with the system's reason.
struct DatagramSocketError: Error, CustomStringConvertible {
    let operation: String
    let code: Int32

    var description: String { "cannot \(operation): \(Errno(code))" }
}
