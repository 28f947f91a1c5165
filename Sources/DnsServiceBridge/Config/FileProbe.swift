import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The few file system questions the configuration layer asks: does a path name a readable file, what does it
/// hold, which files match a glob. Config only records paths; reading PEM and hosts data happens elsewhere.
enum FileProbe {
    /// What a path names, for messages that say exactly what is wrong.
    enum Status: Equatable {
        case readableFile
        case missing
        case directory
        case unreadable
        /// A unix-domain socket (a listener's, perhaps left by a process that died).
        case socket

        /// What is wrong for a path that should be a readable file (`is a directory`); nil when nothing is.
        var problem: String? {
            switch self {
            case .readableFile: nil
            case .missing: "does not exist"
            case .directory: "is a directory"
            case .unreadable: "is not readable"
            case .socket: "is a socket"
            }
        }
    }

    static func status(of path: String) -> Status {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return .missing }
        if isDirectory.boolValue { return .directory }
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK { return .socket }
        return access(path, R_OK) == 0 ? .readableFile : .unreadable
    }

    /// The file's text, or nil when it cannot be read; invalid UTF-8 is replaced, not fatal.
    static func text(of path: String) -> String? {
        guard status(of: path) == .readableFile, let data = FileManager.default.contents(atPath: path) else {
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// `path` made absolute against `directory` and with `.`/`..` removed; absolute paths are only standardized.
    static func absolute(_ path: String, relativeTo directory: String) -> String {
        let joined = path.hasPrefix("/") ? path : (directory.hasSuffix("/") ? directory + path : directory + "/" + path)
        return URL(fileURLWithPath: joined).standardizedFileURL.path
    }

    /// The directory holding `path` (which should be absolute).
    static func directory(of path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().path
    }

    /// The process's current directory, which CoreDNS uses for relative TLS, hosts and resolv.conf paths.
    static var currentDirectory: String { FileManager.default.currentDirectoryPath }

    /// True when `pattern` has glob metacharacters, so matching nothing is not an error.
    static func isGlob(_ pattern: String) -> Bool {
        pattern.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }

    /// Sorted paths matching `pattern`; an empty array when nothing matches or the pattern is malformed.
    static func paths(matchingGlob pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        let status = glob(pattern, 0, nil, &result)
        guard status == 0, let paths = result.gl_pathv else { return [] }
        var matches: [String] = []
        for index in 0..<Int(result.gl_pathc) {
            if let path = paths[index] { matches.append(String(cString: path)) }
        }
        return matches.sorted()
    }
}
