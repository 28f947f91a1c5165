import CGRPC

/// Waits for any of a few datagram sockets to become readable (`poll`), for the relay's thread.
struct DatagramReadiness {
    /// The most sockets one wait watches (the shim's limit).
    static let maxSockets = 64
    private var descriptors: [Int32] = []
    private var readable: [UInt8] = []

    /// Which of `sockets` are readable (or have an error) after waiting up to `timeoutMS`; a closed socket never is.
    mutating func wait(for sockets: [DatagramSocket], timeoutMS: Int32) -> [Bool] {
        let watched = sockets.prefix(Self.maxSockets)
        descriptors.removeAll(keepingCapacity: true)
        for socket in watched { descriptors.append(socket.withDescriptor { $0 } ?? -1) }
        readable = [UInt8](repeating: 0, count: descriptors.count)
        _ = cgrpc_dgram_wait(descriptors, Int32(descriptors.count), timeoutMS, &readable)
        return readable.map { $0 != 0 }
    }
}
