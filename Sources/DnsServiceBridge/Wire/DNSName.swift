/// A domain name kept as its uncompressed wire bytes; compares and hashes ASCII case-insensitively.
public struct DNSName: Hashable, Sendable {
    /// The uncompressed wire form: length-prefixed labels and a terminating zero, case as received.
    public let wireBytes: [UInt8]

    /// The root name ".".
    public static let root = DNSName(uncheckedWire: [0])

    // Callers guarantee well-formed wire bytes: labels of 1...63 bytes, a terminating zero, at most 255 bytes.
    init(uncheckedWire: [UInt8]) {
        self.wireBytes = uncheckedWire
    }

    /// Whether this is the root name.
    public var isRoot: Bool { wireBytes.count == 1 }

    /// The number of labels, not counting the root (0 for ".").
    public var labelCount: Int {
        var count = 0
        var offset = 0
        while offset < wireBytes.count, wireBytes[offset] != 0 {
            count += 1
            offset += 1 + Int(wireBytes[offset])
        }
        return count
    }

    /// The labels from leftmost to rightmost, without the empty root label, case as received.
    public var labels: [[UInt8]] {
        var result: [[UInt8]] = []
        var offset = 0
        while offset < wireBytes.count, wireBytes[offset] != 0 {
            let length = Int(wireBytes[offset])
            result.append(Array(wireBytes[(offset + 1)..<(offset + 1 + length)]))
            offset += 1 + length
        }
        return result
    }

    /// Whether this name equals `zone` or lies below it; every name is under the root.
    public func isSubdomain(of zone: DNSName) -> Bool {
        let zoneCount = zone.wireBytes.count
        var offset = 0
        // Walk label boundaries until the remaining suffix is as long as the zone, then compare that suffix.
        while wireBytes.count - offset > zoneCount {
            let length = wireBytes[offset]
            if length == 0 {
                return false
            }
            offset += 1 + Int(length)
        }
        guard wireBytes.count - offset == zoneCount else {
            return false
        }
        return Self.equalIgnoringASCIICase(wireBytes[offset...], zone.wireBytes[...])
    }

    /// Case-insensitive equality (RFC 4343): "Example.ORG." equals "example.org.".
    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        lhs.wireBytes.count == rhs.wireBytes.count
            && equalIgnoringASCIICase(lhs.wireBytes[...], rhs.wireBytes[...])
    }

    /// Hashes the lowercased bytes so that equal names hash equally.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(wireBytes.count)
        for byte in wireBytes {
            hasher.combine(Self.lowercased(byte))
        }
    }

    // Length bytes are at most 63, below "A", so folding every byte never changes a length.
    @inline(__always)
    static func lowercased(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    static func equalIgnoringASCIICase(_ lhs: ArraySlice<UInt8>, _ rhs: ArraySlice<UInt8>) -> Bool {
        guard lhs.count == rhs.count else {
            return false
        }
        var left = lhs.startIndex
        var right = rhs.startIndex
        while left < lhs.endIndex {
            let a = lhs[left]
            let b = rhs[right]
            if a != b && lowercased(a) != lowercased(b) {
                return false
            }
            left += 1
            right += 1
        }
        return true
    }
}
