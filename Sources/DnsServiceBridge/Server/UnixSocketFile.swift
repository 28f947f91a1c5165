#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Synchronization

/// The file of a gRPC listener's unix-domain socket. gRPC core binds it under a name of its own beside the
/// configured path (`bindPath`); once its mode and owner are set it is renamed onto the path, atomically replacing
/// a previous socket there: a reload's new listener takes the path over from the old one with no moment without
/// a socket. gRPC core unlinks the socket it bound when the listener stops, but by then that name is gone, so
/// the configured path is removed here instead, and only while it is still this listener's socket.
struct UnixSocketFile: Sendable {
    /// The configured path.
    let path: String
    private let device: UInt64
    private let inode: UInt64

    /// Suffixes `bindPath` adds, so configured paths leave room for them.
    static let bindSuffixLength = 16
    private static let counter = Atomic<Int>(0)

    /// A fresh name in the same directory (a rename cannot cross file systems) for gRPC core to bind.
    static func bindPath(for path: String) -> String {
        let number = counter.add(1, ordering: .relaxed).oldValue % 100_000
        return "\(path).\(getpid() % 1_000_000).\(number)"
    }

    /// Gives the socket bound at `bound` the `permissions` and moves it onto `path`; on failure removes it.
    init(bound: String, at path: String, permissions: UnixSocketPermissions?) throws(StartupError) {
        do throws(StartupError) {
            if let permissions { try Self.apply(permissions, to: bound) }
            var existing = stat()
            if lstat(path, &existing) == 0, existing.st_mode & S_IFMT != S_IFSOCK {
                throw StartupError(at: nil, "gRPC listener on unix:\(path): the path exists and is not a socket")
            }
            guard rename(bound, path) == 0 else {
                throw StartupError(at: nil, "cannot move the gRPC socket onto \(path): " + Self.lastError)
            }
        } catch {
            unlink(bound)
            throw error
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw StartupError(at: nil, "gRPC listener on unix:\(path): no socket there after binding")
        }
        self.path = path
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
    }

    private static func apply(_ permissions: UnixSocketPermissions, to path: String) throws(StartupError) {
        if chmod(path, mode_t(permissions.mode)) != 0 {
            throw StartupError(at: nil, "cannot set mode \(String(permissions.mode, radix: 8)) on \(path): " + lastError)
        }
        guard permissions.owner != nil || permissions.group != nil else { return }
        // chown leaves an ID of -1 as it is.
        let owner = permissions.owner.map { uid_t($0) } ?? uid_t.max
        let group = permissions.group.map { gid_t($0) } ?? gid_t.max
        if chown(path, owner, group) != 0 {
            throw StartupError(at: nil, "cannot change the owner of \(path): " + lastError)
        }
    }

    private static var lastError: String { String(cString: strerror(errno)) }

    /// Removes the socket file if it is still the one bound here.
    func remove() {
        var info = stat()
        guard lstat(path, &info) == 0, UInt64(info.st_dev) == device, UInt64(info.st_ino) == inode else { return }
        unlink(path)
    }
}
