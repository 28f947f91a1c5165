import Synchronization

/// Why a query failed, written by the forwarder as it goes and read by the `errors` plugin once the reply is
/// there; only queries behind an `errors` plugin carry one.
public final class QueryFailureNote: Sendable {
    private let text = Mutex<String?>(nil)

    public init() {}

    /// The last failure recorded, if any.
    public var reason: String? { text.withLock { $0 } }

    /// Records a failure; a later one replaces it.
    func record(_ reason: String) {
        text.withLock { $0 = reason }
    }
}
