import Foundation

/// Reads a Corefile into a `Configuration`: lex, substitute the environment, expand imports and snippets, group
/// into server blocks, give each directive its meaning, then check blocks against each other.
public enum ConfigurationLoader {
    /// What CoreDNS serves when it has no Corefile: whoami and log on the root zone.
    public static func defaultCorefile(port: Int = 53) -> String {
        ".:\(port) {\n    whoami\n    log\n}\n"
    }

    /// Reads and checks the Corefile at `file`.
    ///
    /// - Parameters:
    ///   - file: the Corefile's path; imports are relative to its directory. Errors name it as given.
    ///   - defaultPort: the port of dns keys written without one (CoreDNS's `-dns.port`).
    ///   - environment: the values of `{$NAME}` and `{%NAME%}`.
    public static func load(
        file: String, defaultPort: Int = 53,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigurationError) -> Configuration {
        let path = FileProbe.absolute(file, relativeTo: FileProbe.currentDirectory)
        let problem = FileProbe.status(of: path).problem.map { "Corefile '\(file)' \($0)" }
        if let problem {
            throw ConfigurationError(at: SourceLocation(file: file, line: 0), problem, expected: "an existing, readable Corefile")
        }
        guard let text = FileProbe.text(of: path) else {
            throw ConfigurationError(
                at: SourceLocation(file: file, line: 0), "Corefile '\(file)' could not be read",
                expected: "an existing, readable Corefile")
        }
        return try parse(text: text, fileName: file, defaultPort: defaultPort, environment: environment)
    }

    /// Reads and checks Corefile text.
    ///
    /// - Parameters:
    ///   - text: the Corefile.
    ///   - fileName: the name errors show; imports are relative to its directory (taken from `workingDirectory`
    ///     when it is relative).
    ///   - defaultPort: the port of dns keys written without one (CoreDNS's `-dns.port`).
    ///   - environment: the values of `{$NAME}` and `{%NAME%}`.
    ///   - workingDirectory: where relative TLS, hosts and resolv.conf paths point; the process's current
    ///     directory when nil, as in CoreDNS.
    public static func parse(
        text: String, fileName: String = "Corefile", defaultPort: Int = 53,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        workingDirectory: String? = nil
    ) throws(ConfigurationError) -> Configuration {
        let fileLocation = SourceLocation(file: fileName, line: 0)
        guard (0...65535).contains(defaultPort) else {
            throw ConfigurationError(at: fileLocation, "default port \(defaultPort) is out of range", expected: "a port from 0 to 65535")
        }
        let directory = workingDirectory ?? FileProbe.currentDirectory
        let substitution = EnvironmentSubstitution(environment: environment)

        var tokens = try CorefileLexer(fileName: fileName).tokenize(text)
        for index in tokens.indices {
            tokens[index] = try substitution.apply(to: tokens[index])
        }
        var expander = CorefileImportExpander(
            substitution: substitution, rootDisplayName: fileName,
            rootAbsolutePath: FileProbe.absolute(fileName, relativeTo: directory))
        let expanded = try expander.expand(tokens)
        var parser = CorefileParser(tokens: expanded)
        let blocks = try parser.parse()
        guard !blocks.isEmpty else {
            throw ConfigurationError(
                at: fileLocation, "no server blocks",
                expected: "at least one server block, such as '. { forward . 127.0.0.1 }'")
        }

        let builder = ServerBlockBuilder(defaultDNSPort: defaultPort, workingDirectory: directory)
        var overlap = ListenerOverlapCheck()
        var ports = PortClashCheck()
        var configuration = Configuration(servers: [], warnings: expander.warnings)
        for block in blocks {
            let (server, keyLocations, warnings) = try builder.build(block)
            try overlap.register(server, keyLocations: keyLocations)
            try ports.register(server)
            configuration.servers.append(server)
            configuration.warnings += warnings
        }
        return configuration
    }
}
