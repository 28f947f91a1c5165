#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address read from Corefile text, kept as network-order bytes.
struct IPAddressText: Sendable, Hashable {
    /// 4 bytes for IPv4, 16 for IPv6.
    var bytes: [UInt8]

    var isIPv4: Bool { bytes.count == 4 }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text (no brackets, no `%zone`); nil for anything else.
    init?(_ text: String) {
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII }) else { return nil }
        if text.contains(":") {
            var storage = [UInt8](repeating: 0, count: 16)
            guard inet_pton(AF_INET6, text, &storage) == 1 else { return nil }
            bytes = storage
        } else {
            var storage = [UInt8](repeating: 0, count: 4)
            guard inet_pton(AF_INET, text, &storage) == 1 else { return nil }
            bytes = storage
        }
    }

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// True when `text` is an IP address, allowing an IPv6 `%zone` suffix as link-local addresses carry.
    static func isAddress(_ text: String) -> Bool {
        if let percent = text.firstIndex(of: "%"), text.contains(":") {
            return IPAddressText(String(text[..<percent])) != nil && text.index(after: percent) != text.endIndex
        }
        return IPAddressText(text) != nil
    }

    /// The canonical text (`10.0.0.0`, `2001:db8::`).
    var canonicalText: String {
        guard bytes.count == 4 || bytes.count == 16 else { return "" }
        var buffer = [CChar](repeating: 0, count: 64)
        let family = isIPv4 ? AF_INET : AF_INET6
        let written = bytes.withUnsafeBufferPointer { source in
            inet_ntop(family, source.baseAddress, &buffer, socklen_t(buffer.count))
        }
        guard written != nil else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
