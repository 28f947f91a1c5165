/// Replaces `import` lines with the tokens of a snippet or of files, and takes snippet definitions out of the
/// stream, the way Caddy does while it parses.
///
/// - `import X` counts only as the first word of a line, with exactly one argument; it works at the top level,
///   inside server blocks and inside directive blocks.
/// - `X` names a snippet defined earlier (`(name) { ... }` at the top level), else a file or glob relative to the
///   directory of the file holding the `import`. A glob that matches nothing imports nothing (with a warning);
///   a plain path that does not exist is an error. Directories matched by a glob are skipped.
/// - Snippet bodies are expanded where they are used, so a snippet may import files or other snippets.
/// - A file or snippet that imports itself, directly or through others, is an error naming the chain; Caddy
///   only stops such loops with an expansion cap, which we keep as a second guard.
struct CorefileImportExpander {
    private enum Origin: Equatable {
        case file(String)
        case snippet(String)
    }

    private struct Snippet {
        var location: SourceLocation
        var body: [CorefileToken]
    }

    /// Caddy's caps, so a fan-out of imports (not a cycle) cannot eat the machine either.
    static let maximumImports = 10_000
    static let maximumTokens = 1_000_000

    private let substitution: EnvironmentSubstitution
    private let rootDisplayName: String
    private let rootAbsolutePath: String
    private var snippets: [String: Snippet] = [:]
    private var depth = 0
    private var importCount = 0
    private(set) var warnings: [ConfigurationWarning] = []

    init(substitution: EnvironmentSubstitution, rootDisplayName: String, rootAbsolutePath: String) {
        self.substitution = substitution
        self.rootDisplayName = rootDisplayName
        self.rootAbsolutePath = rootAbsolutePath
    }

    /// The root file's tokens with every import expanded and every snippet definition removed.
    mutating func expand(_ tokens: [CorefileToken]) throws(ConfigurationError) -> [CorefileToken] {
        var output: [CorefileToken] = []
        try expand(tokens, chain: [.file(rootAbsolutePath)], into: &output)
        return output
    }

    private mutating func expand(
        _ tokens: [CorefileToken], chain: [Origin], into output: inout [CorefileToken]
    ) throws(ConfigurationError) {
        var index = 0
        while index < tokens.count {
            let token = tokens[index]

            if token.startsLine, token.isKeyword("import") {
                var end = index + 1
                while end < tokens.count, !tokens[end].startsLine, !tokens[end].isBrace { end += 1 }
                let arguments = tokens[(index + 1)..<end]
                guard arguments.count == 1, let argument = arguments.first, !argument.text.isEmpty else {
                    throw ConfigurationError(
                        at: token.location, "import takes exactly one argument, found \(arguments.count)",
                        expected: "'import FILE', 'import GLOB' or 'import SNIPPET'")
                }
                try importArgument(argument, from: token, chain: chain, into: &output)
                index = end
                continue
            }

            if depth == 0, token.startsLine, token.kind == .word, let name = Self.snippetName(token.text) {
                index = try defineSnippet(named: name, in: tokens, at: index)
                continue
            }

            if token.isOpenBrace { depth += 1 }
            if token.isCloseBrace { depth = max(0, depth - 1) }
            output.append(token)
            index += 1
            if output.count > Self.maximumTokens {
                throw ConfigurationError(
                    at: token.location, "imports expand to more than \(Self.maximumTokens) tokens",
                    expected: "a configuration that does not import the same files over and over")
            }
        }
    }

    /// `(name)` → `name`; nil for anything else.
    private static func snippetName(_ text: String) -> String? {
        guard text.count > 2, text.first == "(", text.last == ")" else { return nil }
        return String(text.dropFirst().dropLast())
    }

    /// Records the snippet starting at `start` and returns the index after its closing brace.
    private mutating func defineSnippet(
        named name: String, in tokens: [CorefileToken], at start: Int
    ) throws(ConfigurationError) -> Int {
        let header = tokens[start]
        guard start + 1 < tokens.count, tokens[start + 1].isOpenBrace, !tokens[start + 1].startsLine else {
            throw ConfigurationError(
                at: header.location, "snippet '\(header.text)' has no body",
                expected: "'\(header.text) {' followed by the snippet's lines and a closing '}'")
        }
        if let existing = snippets[name] {
            throw ConfigurationError(
                at: header.location, "snippet '\(name)' is already defined at \(existing.location)",
                expected: "each snippet name once")
        }
        let openBrace = tokens[start + 1]
        var level = 1
        var index = start + 2
        var body: [CorefileToken] = []
        while index < tokens.count {
            let token = tokens[index]
            if token.isOpenBrace { level += 1 }
            if token.isCloseBrace {
                level -= 1
                if level == 0 { break }
            }
            body.append(token)
            index += 1
        }
        guard level == 0 else {
            throw ConfigurationError(
                at: openBrace.location, "unclosed '{'", expected: "a matching '}' before the end of the file")
        }
        if !body.isEmpty { body[0].startsLine = true }
        snippets[name] = Snippet(location: header.location, body: body)
        return index + 1
    }

    private mutating func importArgument(
        _ argument: CorefileToken, from importToken: CorefileToken, chain: [Origin],
        into output: inout [CorefileToken]
    ) throws(ConfigurationError) {
        importCount += 1
        if importCount > Self.maximumImports {
            throw ConfigurationError(
                at: importToken.location, "more than \(Self.maximumImports) imports",
                expected: "a configuration that does not import the same files over and over")
        }

        if let snippet = snippets[argument.text] {
            let origin = Origin.snippet(argument.text)
            if chain.contains(origin) {
                throw cycleError(at: importToken.location, chain: chain + [origin])
            }
            var body = snippet.body
            if !body.isEmpty { body[0].startsLine = true }
            try expand(body, chain: chain + [origin], into: &output)
            return
        }

        let importingFile = importToken.location.file == rootDisplayName
            ? rootAbsolutePath : importToken.location.file
        let pattern = FileProbe.absolute(argument.text, relativeTo: FileProbe.directory(of: importingFile))
        var files: [String] = []
        if FileProbe.isGlob(pattern) {
            files = FileProbe.paths(matchingGlob: pattern).filter { FileProbe.status(of: $0) != .directory }
            if files.isEmpty {
                warnings.append(ConfigurationWarning(
                    at: importToken.location, "import pattern '\(argument.text)' matched no files"))
            }
        } else {
            let problem = FileProbe.status(of: pattern).problem.map { "import file '\(argument.text)' \($0) (looked for \(pattern))" }
            if let problem {
                throw ConfigurationError(
                    at: argument.location, problem,
                    expected: "an existing file, a glob, or the name of a snippet defined above")
            }
            files = [pattern]
        }

        for file in files {
            let origin = Origin.file(file)
            if chain.contains(origin) {
                throw cycleError(at: importToken.location, chain: chain + [origin])
            }
            guard let text = FileProbe.text(of: file) else {
                throw ConfigurationError(
                    at: argument.location, "import file '\(file)' could not be read",
                    expected: "a readable file")
            }
            var tokens = try CorefileLexer(fileName: file).tokenize(text)
            for index in tokens.indices {
                tokens[index] = try substitution.apply(to: tokens[index])
            }
            try expand(tokens, chain: chain + [origin], into: &output)
        }
    }

    private func cycleError(at location: SourceLocation, chain: [Origin]) -> ConfigurationError {
        let names = chain.map { origin in
            switch origin {
            case .file(let path): path == rootAbsolutePath ? rootDisplayName : path
            case .snippet(let name): "(\(name))"
            }
        }
        return ConfigurationError(
            at: location, "import cycle \(names.joined(separator: " -> "))",
            expected: "imports that never lead back to a file or snippet already being imported")
    }
}
