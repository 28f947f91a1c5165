/// The due times (`RateLimitRule`) of at most `capacity` clients; when full, the client seen least recently makes
/// room for a new one. An exact LRU in O(1): a dictionary from the client to its slot, and the slots in a list
/// linked by index, most recent first. Slots are appended until `capacity`, then reused: once full, a query
/// allocates nothing (the dictionary removes without tombstones and never grows past its size). A client evicted
/// while over its rate comes back with a full bucket, so the bound should exceed the clients active at once; a
/// flood of spoofed sources only shortens how long an idle client is remembered.
struct ClientBuckets {
    private struct Slot {
        var client: ClientIP
        var due: Int64
        var newer: Int32
        var older: Int32
    }

    private static let none: Int32 = -1

    let capacity: Int
    private var slots: [Slot] = []
    private var index: [ClientIP: Int32] = [:]
    private var newest = none
    private var oldest = none
    /// Clients forgotten to make room, for the metrics.
    private(set) var evictions = 0

    /// A table for at most `capacity` clients (at least 1).
    init(capacity: Int) {
        self.capacity = max(1, min(capacity, Int(Int32.max)))
    }

    /// The clients held.
    var count: Int { index.count }

    /// Whether `client` is held.
    func contains(_ client: ClientIP) -> Bool { index[client] != nil }

    /// Whether `client` may have one more query at `now` (nanoseconds on a monotonic clock); counts it when so.
    mutating func admit(_ client: ClientIP, now: Int64, rule: RateLimitRule) -> Bool {
        if let found = index[client] {
            let slot = Int(found)
            moveToFront(slot)
            guard let due = rule.admit(due: slots[slot].due, now: now) else { return false }
            slots[slot].due = due
            return true
        }
        // A client not seen has a full bucket, so its first query always passes (a burst is at least 1).
        guard let due = rule.admit(due: nil, now: now) else { return false }
        let slot: Int
        if slots.count < capacity {
            slot = slots.count
            slots.append(Slot(client: client, due: due, newer: Self.none, older: Self.none))
        } else {
            slot = Int(oldest)
            unlink(slot)
            index.removeValue(forKey: slots[slot].client)
            evictions += 1
            slots[slot] = Slot(client: client, due: due, newer: Self.none, older: Self.none)
        }
        index[client] = Int32(slot)
        linkFront(slot)
        return true
    }

    private mutating func moveToFront(_ slot: Int) {
        guard newest != Int32(slot) else { return }
        unlink(slot)
        linkFront(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let (newer, older) = (slots[slot].newer, slots[slot].older)
        if newer == Self.none { newest = older } else { slots[Int(newer)].older = older }
        if older == Self.none { oldest = newer } else { slots[Int(older)].newer = newer }
        slots[slot].newer = Self.none
        slots[slot].older = Self.none
    }

    private mutating func linkFront(_ slot: Int) {
        slots[slot].older = newest
        slots[slot].newer = Self.none
        if newest != Self.none { slots[Int(newest)].newer = Int32(slot) }
        newest = Int32(slot)
        if oldest == Self.none { oldest = Int32(slot) }
    }
}
