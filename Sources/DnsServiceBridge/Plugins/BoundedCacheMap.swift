/// A dictionary that holds at most `capacity` entries and, when full, evicts the oldest insertion (a ring of
/// keys in insertion order), so every operation is O(1) and memory is bounded whatever clients ask.
struct BoundedCacheMap<Key: Hashable, Value> {
    private struct Slot {
        var value: Value
        var ring: Int
    }

    let capacity: Int
    private var slots: [Key: Slot] = [:]
    private var ring: [Key?]
    private var nextRing = 0

    /// A map for at most `capacity` entries (at least 1).
    init(capacity: Int) {
        self.capacity = max(1, capacity)
        ring = Array(repeating: nil, count: self.capacity)
    }

    var count: Int { slots.count }

    subscript(key: Key) -> Value? { slots[key]?.value }

    /// Inserts or replaces; returns true when an older entry was evicted to make room.
    @discardableResult
    mutating func insert(_ value: Value, for key: Key) -> Bool {
        if slots[key] != nil {
            slots[key]?.value = value
            return false
        }
        var evicted = false
        if let old = ring[nextRing] {
            slots[old] = nil
            evicted = true
        }
        ring[nextRing] = key
        slots[key] = Slot(value: value, ring: nextRing)
        nextRing = (nextRing + 1) % capacity
        return evicted
    }

    /// Changes the value for `key` in place; nil when there is none.
    mutating func update<Result>(_ key: Key, _ body: (inout Value) -> Result) -> Result? {
        guard slots[key] != nil else { return nil }
        return body(&slots[key]!.value)
    }

    /// Removes the entry for `key`, if any.
    mutating func remove(_ key: Key) {
        guard let slot = slots.removeValue(forKey: key) else { return }
        ring[slot.ring] = nil
    }
}
