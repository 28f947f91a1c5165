/// The path of a unix-domain socket as a Corefile writes it after `unix:` (`unix:///run/d.sock`, `unix:/run/d.sock`,
/// `unix:d.sock`), for gRPC upstreams and `grpc://unix:` listener keys alike.
enum UnixSocketPath {
    /// The longest path a unix socket address holds (`sun_path` less its NUL).
    static let maximumLength = 107

    /// The absolute path (a relative one taken from `workingDirectory`); `noPath` is the error for an empty one,
    /// and a path longer than `maximumLength` is refused.
    static func absolute(_ written: Substring, relativeTo workingDirectory: String, maximumLength: Int = maximumLength,
                         in token: CorefileToken, noPath: ConfigurationError) throws(ConfigurationError) -> String {
        // `unix:///path` carries an empty authority; `unix:/path` and `unix:path` none.
        let path = written.hasPrefix("//") ? written.dropFirst(2) : written
        guard !path.isEmpty, !path.contains("\0") else { throw noPath }
        let absolute = FileProbe.absolute(String(path), relativeTo: workingDirectory)
        guard absolute.utf8.count <= maximumLength else {
            throw ConfigurationError(at: token.location, "unix socket path '\(absolute)' is too long",
                                     expected: "a path of at most \(maximumLength) bytes")
        }
        return absolute
    }
}
