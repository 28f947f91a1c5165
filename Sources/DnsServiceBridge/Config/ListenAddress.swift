/// One server block key: what to serve (`zone`, optionally filtered to a network) and where (`scheme`, `port`).
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// dns, tls or grpc.
    public var scheme: ListenScheme
    /// The zone: lowercase, fully qualified, `.` for the root; a CIDR key becomes its reverse zone.
    public var zone: String
    /// The port to listen on (0 asks the system for a free one).
    public var port: Int
    /// For a CIDR key not on a label boundary (`10.0.0.0/25`), the network queries must fall in.
    public var reverseFilter: ReverseNetwork?
    /// gRPC over a unix-domain socket (`grpc://unix:/run/dnsgrpcd.sock`): the socket's absolute path; the key
    /// then serves the root zone and `bind` does not apply to it.
    public var unixPath: String?

    /// Creates a key.
    public init(scheme: ListenScheme = .dns, zone: String, port: Int, reverseFilter: ReverseNetwork? = nil) {
        self.scheme = scheme
        self.zone = zone
        self.port = port
        self.reverseFilter = reverseFilter
    }

    /// `dns://example.org.:53`, with ` (in 10.0.0.0/25)` for a filtered key, as CoreDNS prints keys.
    public var description: String {
        if let unixPath { return "\(scheme)://unix:\(unixPath)" }
        let base = "\(scheme)://\(zone):\(port)"
        return reverseFilter.map { "\(base) (in \($0))" } ?? base
    }
}
