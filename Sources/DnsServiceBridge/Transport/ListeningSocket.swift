import CGRPC

/// A TCP listening socket bound outside NIO, so that a reload can hand the very socket (and the connections in its
/// accept queue) to the next configuration: each owner holds its own duplicate descriptor, and the socket lives
/// until the last owner closes its own. NIO's channel adopts a duplicate too (`descriptorForNIO`).
final class ListeningSocket: Sendable {
    private let descriptor: OwnedDescriptor

    private init(descriptor: Int32) {
        self.descriptor = OwnedDescriptor(descriptor)
    }

    /// Bound to host:port (numeric host) with SO_REUSEADDR, listening.
    static func listen(host: String, port: Int, backlog: Int = 1024) throws(DatagramSocketError) -> ListeningSocket {
        let socket = try bind(host: host, port: port)
        try socket.startListening(backlog: backlog)
        return socket
    }

    /// Bound to host:port (numeric host) with SO_REUSEADDR, not listening yet: the port is ours, but no client
    /// can connect until `startListening` (a listener whose UDP side is not up yet must not look ready).
    static func bind(host: String, port: Int) throws(DatagramSocketError) -> ListeningSocket {
        let fd = cgrpc_stream_bind(host, Int32(port))
        guard fd >= 0 else { throw DatagramSocketError(operation: "listen on \(host):\(port)", code: -fd) }
        return ListeningSocket(descriptor: fd)
    }

    /// Starts listening (a socket handed on by a reload already listens; listening again changes nothing).
    func startListening(backlog: Int = 1024) throws(DatagramSocketError) {
        let result = descriptor.withDescriptor { cgrpc_stream_listen($0, Int32(backlog)) } ?? -9  // EBADF
        guard result == 0 else { throw DatagramSocketError(operation: "listen", code: -result) }
    }

    /// Another owner of the same socket; nil once this one is closed.
    func duplicate() -> ListeningSocket? {
        let fd = descriptor.withDescriptor { cgrpc_fd_duplicate($0) } ?? -1
        return fd >= 0 ? ListeningSocket(descriptor: fd) : nil
    }

    /// A duplicate descriptor for NIO's `withBoundSocket`, which owns (and closes) it from then on.
    func descriptorForNIO() throws(DatagramSocketError) -> Int32 {
        let fd = descriptor.withDescriptor { cgrpc_fd_duplicate($0) } ?? -9  // EBADF
        guard fd >= 0 else { throw DatagramSocketError(operation: "duplicate a listening socket", code: -fd) }
        return fd
    }

    func close() {
        descriptor.close()
    }
}
