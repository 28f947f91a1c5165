import CGRPC

/// Waits for any of a few descriptors (datagram sockets, the relay's inbox) to become readable (`poll`), for the
/// relay's thread.
struct DatagramReadiness {
    /// The most sockets one wait watches (the shim's limit).
    static let maxSockets = 64
    private var descriptors: [Int32] = []
    private var readable: [UInt8] = []

    /// Which of `descriptors` are readable (or have an error) after waiting up to `timeoutMS`; a negative one (a
    /// closed socket) never is.
    mutating func wait(for descriptors: [Int32], timeoutMS: Int32) -> [Bool] {
        self.descriptors.removeAll(keepingCapacity: true)
        self.descriptors.append(contentsOf: descriptors.prefix(Self.maxSockets))
        readable = [UInt8](repeating: 0, count: self.descriptors.count)
        _ = cgrpc_dgram_wait(self.descriptors, Int32(self.descriptors.count), timeoutMS, &readable)
        return readable.map { $0 != 0 }
    }
}
