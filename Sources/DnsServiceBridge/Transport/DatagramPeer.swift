import CGRPC
import NIOCore

/// Where a datagram came from or goes to, as the kernel gave it: kept as raw socket-address bytes, since making a
/// `SocketAddress` formats the host as text (NIO does so for every datagram it reads, about 2% of the relay's time).
struct DatagramPeer: Sendable {
    fileprivate(set) var raw = cgrpc_dgram_peer()

    init() {}

    init(_ raw: cgrpc_dgram_peer) {
        self.raw = raw
    }

    var isIPv6: Bool { raw.address.any.sa_family == sa_family_t(AF_INET6) }

    /// The peer as a NIO address, for the paths that need one (plugins, logs); formats the host.
    var socketAddress: SocketAddress? {
        var peer = raw
        var host = [UInt8](repeating: 0, count: 64)
        var port: Int32 = 0
        guard cgrpc_dgram_peer_format(&peer, &host, host.count, &port) > 0 else { return nil }
        let text = String(decoding: host.prefix { $0 != 0 }, as: UTF8.self)
        return try? SocketAddress(ipAddress: text, port: Int(port))
    }
}
