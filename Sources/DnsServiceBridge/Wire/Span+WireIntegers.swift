// Big-endian reads for the parse path. A Span is bounds-checked like an Array but needs no reference counting,
// which was about a third of the parse time with [UInt8]; callers check bounds first to throw, not trap.
extension Span where Element == UInt8 {
    /// The two bytes at `offset` in network byte order.
    @inline(__always)
    func uint16(at offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    /// The four bytes at `offset` in network byte order.
    @inline(__always)
    func uint32(at offset: Int) -> UInt32 {
        UInt32(uint16(at: offset)) << 16 | UInt32(uint16(at: offset + 2))
    }
}
