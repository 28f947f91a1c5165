import NIOPosix

/// A `ChaChaRandom` per thread, for draws made on whatever thread runs a query (the random policy's order on a
/// worker or an event loop): no lock on the query's way, as a generator behind a mutex would take.
enum ThreadRandom {
    /// One thread's generator; touched by that thread only.
    private final class Box: @unchecked Sendable {
        var generator = ChaChaRandom()
    }

    private static let current = ThreadSpecificVariable<Box>()

    /// Runs `body` with the calling thread's generator.
    static func with<Result>(_ body: (inout ChaChaRandom) -> Result) -> Result {
        let box: Box
        if let existing = current.currentValue {
            box = existing
        } else {
            box = Box()
            current.currentValue = box
        }
        return body(&box.generator)
    }
}
