#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `unix_socket MODE [USER][:GROUP]`: the file mode and owner of a block's gRPC unix-domain sockets, set once each
/// is bound (by default the process's umask and user decide).
public struct UnixSocketPermissions: Sendable, Hashable {
    /// Permission bits, such as 0o660.
    public var mode: UInt32
    /// Numeric IDs, looked up when the Corefile is read so an unknown name stops start-up at its line.
    public var owner: UInt32?
    public var group: UInt32?

    public init(mode: UInt32, owner: UInt32? = nil, group: UInt32? = nil) {
        self.mode = mode
        self.owner = owner
        self.group = group
    }

    static let usage = "unix_socket MODE [USER][:GROUP]"

    static func parse(_ line: CorefileLine) throws(ConfigurationError) -> UnixSocketPermissions {
        try line.requireArguments(1...2, usage: usage)
        try line.requireNoBlock(usage: usage)
        let modeToken = line.arguments[0]
        guard modeToken.text.count <= 4, modeToken.text.allSatisfy({ ("0"..."7").contains($0) }),
              let mode = UInt32(modeToken.text, radix: 8) else {
            throw ConfigurationError(at: modeToken.location, "unix_socket mode '\(modeToken.text)' is not octal",
                                     expected: "permission bits in octal, such as 0660")
        }
        var permissions = UnixSocketPermissions(mode: mode)
        guard line.arguments.count == 2 else { return permissions }
        let ownerToken = line.arguments[1]
        let parts = ownerToken.text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        if let user = parts.first, !user.isEmpty {
            permissions.owner = try id(of: String(user), in: ownerToken, group: false)
        }
        if parts.count == 2, !parts[1].isEmpty {
            permissions.group = try id(of: String(parts[1]), in: ownerToken, group: true)
        }
        guard permissions.owner != nil || permissions.group != nil else {
            throw ConfigurationError(at: ownerToken.location, "unix_socket owner '\(ownerToken.text)' is empty",
                                     expected: "USER, USER:GROUP or :GROUP")
        }
        return permissions
    }

    /// A user or group name (or number) as its ID.
    private static func id(of name: String, in token: CorefileToken, group: Bool) throws(ConfigurationError) -> UInt32 {
        if let number = UInt32(name) { return number }
        let found: UInt32? = group ? getgrnam(name).map { $0.pointee.gr_gid } : getpwnam(name).map { $0.pointee.pw_uid }
        guard let found else {
            throw ConfigurationError(at: token.location, "unknown \(group ? "group" : "user") '\(name)' in unix_socket",
                                     expected: "a \(group ? "group" : "user") of this system, by name or number")
        }
        return found
    }
}
