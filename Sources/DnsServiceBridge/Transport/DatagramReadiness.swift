import CGRPC

/// Waits for any of a few descriptors (datagram sockets, an eventfd) to become readable (`poll`), for the
/// relay's threads and the doorbell of a gRPC listener's relay.
enum DatagramReadiness {
    /// The most descriptors one wait watches (the shim's limit).
    static let maxSockets = 64

    /// Which of `descriptors` are readable (or have an error) after waiting up to `timeoutMS`; a negative one (a
    /// closed socket) never is.
    static func wait(for descriptors: [Int32], timeoutMS: Int32) -> [Bool] {
        let watched = Array(descriptors.prefix(maxSockets))
        var readable = [UInt8](repeating: 0, count: watched.count)
        _ = cgrpc_dgram_wait(watched, Int32(watched.count), timeoutMS, &readable)
        return readable.map { $0 != 0 }
    }
}
