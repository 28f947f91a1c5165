#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

/// A client's IP address as one 128-bit number, IPv4 in its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`), so that the
/// IPv4 clients a dual-stack socket reports as mapped addresses are IPv4 clients too. Read from the socket address
/// as the kernel gave it, never formatted as text: the rate limit asks for it on every query.
public struct ClientIP: Sendable, Hashable, CustomStringConvertible {
    /// The address, the first byte of the IPv6 form in the top bits.
    var value: UInt128

    init(value: UInt128) {
        self.value = value
    }

    /// An IPv4 address in host byte order.
    init(ipv4 address: UInt32) {
        value = 0xFFFF << 32 | UInt128(address)
    }

    /// 4 (IPv4) or 16 (IPv6) bytes in network order; nil for any other count.
    init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        let number = bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
        value = bytes.count == 4 ? 0xFFFF << 32 | number : number
    }

    /// The address of an IPv4 or IPv6 socket address; nil for a unix-domain socket.
    init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4): self.init(ipv4: UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6): self.init(v6.address.sin6_addr)
        case .unixDomainSocket: return nil
        }
    }

    /// The address a datagram came from.
    init?(_ peer: DatagramPeer) {
        switch Int32(peer.raw.address.any.sa_family) {
        case AF_INET: self.init(ipv4: UInt32(bigEndian: peer.raw.address.v4.sin_addr.s_addr))
        case AF_INET6: self.init(peer.raw.address.v6.sin6_addr)
        default: return nil
        }
    }

    private init(_ address: in6_addr) {
        // The tuple of 16 bytes, read field by field: no pointer to the address is needed.
        let b = address.__in6_u.__u6_addr8
        let high = UInt64(b.0) << 56 | UInt64(b.1) << 48 | UInt64(b.2) << 40 | UInt64(b.3) << 32
            | UInt64(b.4) << 24 | UInt64(b.5) << 16 | UInt64(b.6) << 8 | UInt64(b.7)
        let low = UInt64(b.8) << 56 | UInt64(b.9) << 48 | UInt64(b.10) << 40 | UInt64(b.11) << 32
            | UInt64(b.12) << 24 | UInt64(b.13) << 16 | UInt64(b.14) << 8 | UInt64(b.15)
        value = UInt128(high) << 64 | UInt128(low)
    }

    /// An IPv4 address (mapped into IPv6).
    var isIPv4: Bool { value >> 32 == 0xFFFF }

    /// The address in network order: 4 bytes for IPv4, 16 for IPv6.
    var bytes: [UInt8] {
        isIPv4 ? (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) }
            : (0..<16).map { UInt8(truncatingIfNeeded: value >> (120 - 8 * $0)) }
    }

    /// The mask of the first `bits` bits of the IPv6 form (0...128).
    static func mask(bits: Int) -> UInt128 {
        let bits = min(max(bits, 0), 128)
        return bits == 0 ? 0 : UInt128.max << (128 - bits)
    }

    /// The address with every bit outside `mask` cleared.
    func masked(_ mask: UInt128) -> ClientIP {
        ClientIP(value: value & mask)
    }

    /// `192.0.2.1` or the IPv6 text (for tests and messages; never on the query path).
    public var description: String { IPAddressText(bytes: bytes).canonicalText }
}
