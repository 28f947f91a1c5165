#if canImport(Glibc)
import Glibc
#endif

/// A system error number.
struct Errno: Error, Equatable, CustomStringConvertible {
    let code: Int32
    init(_ code: Int32) { self.code = code }

    /// Nothing was ready, or a signal interrupted the call: not a failure of the socket.
    var isTransient: Bool { code == EAGAIN || code == EWOULDBLOCK || code == EINTR }

    var description: String { String(cString: strerror(code)) }
}
