/// The queries in flight on one upstream socket or connection, each under an ID no other of them has, drawn at
/// random (RFC 5452 4.3): the one ID table of the UDP lanes and the pipelined TCP/DoT connections. A reply is
/// looked up by its ID; the caller then checks its question. Used on one thread.
struct QueryIDTable<Waiting> {
    private var waiting: [UInt16: Waiting] = [:]

    var count: Int { waiting.count }
    var isEmpty: Bool { waiting.isEmpty }
    var all: [Waiting] { Array(waiting.values) }

    subscript(id: UInt16) -> Waiting? { waiting[id] }

    /// The first non-nil `transform` of what waits, in no particular order (no copy of the table is made).
    func firstMapped<Result>(_ transform: (Waiting) -> Result?) -> Result? {
        for entry in waiting.values {
            if let result = transform(entry) { return result }
        }
        return nil
    }

    /// A random ID nothing waits under; nil when 64 draws all found one taken (with at most a quarter of the IDs
    /// in flight, as both users keep it, that happens with probability 2^-128).
    func unusedID(using generator: inout some RandomNumberGenerator) -> UInt16? {
        for _ in 0..<64 {
            let id = UInt16.random(in: .min ... .max, using: &generator)
            if waiting[id] == nil { return id }
        }
        return nil
    }

    mutating func insert(_ entry: Waiting, under id: UInt16) {
        waiting[id] = entry
    }

    /// What waits under `id`, taken out.
    mutating func remove(_ id: UInt16) -> Waiting? {
        waiting.removeValue(forKey: id)
    }

    /// Everything waiting, taken out.
    mutating func removeAll() -> [Waiting] {
        defer { waiting.removeAll() }
        return Array(waiting.values)
    }

    /// What `isDone` picks, taken out.
    mutating func removeAll(where isDone: (Waiting) -> Bool) -> [Waiting] {
        let done = waiting.filter { isDone($0.value) }
        for id in done.keys { waiting[id] = nil }
        return Array(done.values)
    }
}
