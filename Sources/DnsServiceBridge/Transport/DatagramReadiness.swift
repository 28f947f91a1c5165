import CGRPC

#if canImport(Glibc)
import Glibc
#endif

/// Waits for any of a set of descriptors (datagram sockets, an eventfd) to become readable (`poll`), for the
/// relay's threads and the doorbell of a gRPC listener's relay.
enum DatagramReadiness {
    /// The most descriptors one wait watches: every socket of 16 upstreams while each rotates all of its sockets.
    static let maxSockets = 1024

    /// Which of `descriptors` are readable (or have an error) after waiting up to `timeoutMS`; a negative one (a
    /// closed socket) never is.
    static func wait(for descriptors: [Int32], timeoutMS: Int32) -> [Bool] {
        var polled = descriptors.prefix(maxSockets).map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        _ = cgrpc_dgram_poll(&polled, Int32(polled.count), timeoutMS)
        return polled.map { $0.revents != 0 }
    }
}
