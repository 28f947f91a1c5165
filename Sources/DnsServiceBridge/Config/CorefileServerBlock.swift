/// A server block as written: its keys and its directive lines, before any meaning is given to them.
struct CorefileServerBlock: Sendable, Hashable {
    /// The keys, with any trailing comma removed.
    var keys: [CorefileToken]
    var lines: [CorefileLine]
    var location: SourceLocation
}
