import Foundation
@testable import DnsServiceBridge

/// A fresh directory under the system temporary directory, removed when the value goes away.
final class TemporaryDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "dnsgrpcd-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `text` to `name` (subdirectories created) and returns the absolute path.
    @discardableResult
    func write(_ name: String, _ text: String = "placeholder\n") throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
}

/// Parses `text` as the file `Corefile` with an empty environment unless one is given.
func parseCorefile(
    _ text: String, fileName: String = "Corefile", defaultPort: Int = 53, environment: [String: String] = [:],
    workingDirectory: String? = nil
) throws(ConfigurationError) -> Configuration {
    try ConfigurationLoader.parse(
        text: text, fileName: fileName, defaultPort: defaultPort, environment: environment,
        workingDirectory: workingDirectory)
}

/// The error text parsing `text` produces, or nil when it parses.
func corefileError(
    _ text: String, fileName: String = "Corefile", environment: [String: String] = [:],
    workingDirectory: String? = nil
) -> String? {
    do {
        _ = try parseCorefile(text, fileName: fileName, environment: environment, workingDirectory: workingDirectory)
        return nil
    } catch {
        return error.description
    }
}

/// A location in the file `Corefile`.
func at(_ line: Int, _ file: String = "Corefile") -> SourceLocation {
    SourceLocation(file: file, line: line)
}

/// An expected server block: keys, the line of its first key, and whatever `configure` sets.
func serverBlock(
    _ keys: [ListenAddress], line: Int = 1, file: String = "Corefile",
    _ configure: (inout ServerBlockConfiguration) -> Void = { _ in }
) -> ServerBlockConfiguration {
    var block = ServerBlockConfiguration(keys: keys, location: SourceLocation(file: file, line: line))
    configure(&block)
    return block
}

/// An expected forward/grpc/proxy directive with its kind's defaults and whatever `configure` sets.
func forwarder(
    _ upstreams: [UpstreamAddress], kind: ForwardConfiguration.Kind = .forward, from: String = ".", line: Int,
    file: String = "Corefile", _ configure: (inout ForwardConfiguration) -> Void = { _ in }
) -> ForwardConfiguration {
    var forward = ForwardConfiguration(
        kind: kind, from: from, upstreams: upstreams, location: SourceLocation(file: file, line: line))
    configure(&forward)
    return forward
}

/// A plain DNS upstream.
func dnsUpstream(_ host: String, _ port: Int = 53) -> UpstreamAddress {
    UpstreamAddress(transport: .dns, host: host, port: port)
}
