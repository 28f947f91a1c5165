import CGRPC

extension cgrpc_bytes {
    /// Copies C-owned bytes into a Swift array and frees them: the one place a `cgrpc_bytes` ends.
    func consumeIntoArray() -> [UInt8] {
        defer { cgrpc_bytes_free(self) }
        guard let data, length > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: length))
    }

    func consumeIntoString() -> String {
        String(decoding: consumeIntoArray(), as: UTF8.self)
    }
}
