extension Array where Element == UInt8 {
    /// Overwrites the four bytes at `offset` with `value` in network byte order (a TTL, say).
    @inline(__always)
    mutating func setUInt32(_ value: UInt32, at offset: Int) {
        setUInt16(UInt16(truncatingIfNeeded: value >> 16), at: offset)
        setUInt16(UInt16(truncatingIfNeeded: value), at: offset + 2)
    }
}
