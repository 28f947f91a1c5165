import Synchronization

/// How one server call ends, shared by its responder and the watch on its close: the call leaves service exactly
/// once, when its reply has gone out or, sooner, when the client cancels it, its deadline passes or its connection
/// goes; then the work still done for it is wasted, and `isCancelled` tells whoever does it to stop.
final class ServerCallEnd: Sendable {
    private let cancelled = Atomic<Bool>(false)
    private let left = Atomic<Bool>(false)
    private let onLeave: @Sendable () -> Void

    /// `onLeave` runs once, when the call leaves service.
    init(onLeave: @escaping @Sendable () -> Void) {
        self.onLeave = onLeave
    }

    /// Whether the client gave up on the call before its reply went out.
    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    /// The reply went out (or could not): the call leaves service unless it already left when cancelled.
    func replied() { leave() }

    /// The call ended for the client; returns whether that cancelled it before the reply went out.
    @discardableResult
    func closed(cancelled wasCancelled: Bool) -> Bool {
        guard wasCancelled else { return false }
        cancelled.store(true, ordering: .relaxed)
        return leave()
    }

    @discardableResult
    private func leave() -> Bool {
        guard !left.exchange(true, ordering: .acquiringAndReleasing) else { return false }
        onLeave()
        return true
    }
}
