/// Where something was written in a Corefile: the file as the user named it (imported files by absolute path) and a 1-based line.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    /// The file name as given to the loader, or the absolute path of an imported file.
    public var file: String
    /// The 1-based line; 0 when the whole file is meant (for example it could not be read).
    public var line: Int

    /// Creates a location.
    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    /// `FILE:LINE`, or just `FILE` when no line applies.
    public var description: String {
        line > 0 ? "\(file):\(line)" : file
    }
}
