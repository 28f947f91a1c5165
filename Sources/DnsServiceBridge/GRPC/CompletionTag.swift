/// What runs when a gRPC core operation completes. Its retained pointer is the `tag` gRPC core hands back.
final class CompletionTag {
    let onComplete: (_ success: Bool) -> Void

    private init(_ onComplete: @escaping (_ success: Bool) -> Void) {
        self.onComplete = onComplete
    }

    /// A +1 pointer for gRPC core; exactly one of `complete(_:success:)` or `discard(_:)` consumes it.
    static func make(_ onComplete: @escaping (_ success: Bool) -> Void) -> UnsafeMutableRawPointer {
        Unmanaged.passRetained(CompletionTag(onComplete)).toOpaque()
    }

    static func complete(_ pointer: UnsafeMutableRawPointer, success: Bool) {
        Unmanaged<CompletionTag>.fromOpaque(pointer).takeRetainedValue().onComplete(success)
    }

    /// For a tag whose operation never started (gRPC core will not return it).
    static func discard(_ pointer: UnsafeMutableRawPointer) {
        Unmanaged<CompletionTag>.fromOpaque(pointer).release()
    }
}
