/// Groups an import-expanded token stream into server blocks of lines, checking that braces balance.
///
/// Follows Caddy: keys end at the end of their line unless the last one ends with a comma; a directive's
/// arguments are the tokens on its line; a `{` on that line opens its block. A Corefile with a single server
/// block may leave out the braces, its directives then run to the end of the file. Beyond Caddy, a `}` closes
/// the innermost block wherever it stands, so one-line blocks such as `forward . 127.0.0.1 { force_tcp }` work.
struct CorefileParser {
    private let tokens: [CorefileToken]
    private var index = 0

    init(tokens: [CorefileToken]) {
        self.tokens = tokens
    }

    mutating func parse() throws(ConfigurationError) -> [CorefileServerBlock] {
        var blocks: [CorefileServerBlock] = []
        while index < tokens.count {
            let first = tokens[index]
            if first.isCloseBrace { throw strayCloseBrace(first) }
            if first.isOpenBrace {
                throw ConfigurationError(
                    at: first.location, "'{' without server block keys",
                    expected: "keys such as '.' or 'example.org:1053' before '{'")
            }
            let keys = try parseKeys()
            if index < tokens.count, tokens[index].isOpenBrace {
                let openBrace = tokens[index]
                index += 1
                let lines = try parseLines(closing: openBrace)
                blocks.append(CorefileServerBlock(keys: keys, lines: lines, location: first.location))
                continue
            }
            guard blocks.isEmpty else {
                throw ConfigurationError(
                    at: first.location, "server block '\(first.text)' has no '{'",
                    expected: "'{' after the keys (only a Corefile with a single server block may leave out braces)")
            }
            let lines = try parseLines(closing: nil)
            blocks.append(CorefileServerBlock(keys: keys, lines: lines, location: first.location))
        }
        return blocks
    }

    private mutating func parseKeys() throws(ConfigurationError) -> [CorefileToken] {
        var keys: [CorefileToken] = []
        var expectingAnother = false
        while index < tokens.count {
            var token = tokens[index]
            if token.isOpenBrace { break }
            if token.isCloseBrace { throw strayCloseBrace(token) }
            if !keys.isEmpty, token.startsLine, !expectingAnother { break }
            expectingAnother = token.kind == .word && token.text.hasSuffix(",")
            if expectingAnother { token.text.removeLast() }
            if !token.text.isEmpty { keys.append(token) }
            index += 1
        }
        if expectingAnother, let last = keys.last {
            throw ConfigurationError(
                at: last.location, "the last server block key ends with ','",
                expected: "another key after the comma")
        }
        return keys
    }

    /// Lines up to the `}` matching `closing`, or to the end of the file for a brace-less block.
    private mutating func parseLines(closing openBrace: CorefileToken?) throws(ConfigurationError) -> [CorefileLine] {
        var lines: [CorefileLine] = []
        while index < tokens.count {
            let head = tokens[index]
            if head.isCloseBrace {
                guard openBrace != nil else { throw strayCloseBrace(head) }
                index += 1
                return lines
            }
            if head.isOpenBrace {
                throw ConfigurationError(
                    at: head.location, "unexpected '{'",
                    expected: "'{' at the end of a directive's line, after its arguments")
            }
            index += 1
            var arguments: [CorefileToken] = []
            while index < tokens.count, !tokens[index].startsLine, !tokens[index].isBrace {
                arguments.append(tokens[index])
                index += 1
            }
            var line = CorefileLine(head: head, arguments: arguments, openBrace: nil, block: [])
            if index < tokens.count, tokens[index].isOpenBrace, !tokens[index].startsLine {
                let nestedOpen = tokens[index]
                index += 1
                line.openBrace = nestedOpen
                line.block = try parseLines(closing: nestedOpen)
                if index < tokens.count, !tokens[index].startsLine, !tokens[index].isCloseBrace {
                    throw ConfigurationError(
                        at: tokens[index].location, "unexpected '\(tokens[index].text)' after '}'",
                        expected: "a line break after a block's closing '}'")
                }
            }
            lines.append(line)
        }
        if let openBrace {
            throw ConfigurationError(
                at: openBrace.location, "unclosed '{'", expected: "a matching '}' before the end of the file")
        }
        return lines
    }

    private func strayCloseBrace(_ token: CorefileToken) -> ConfigurationError {
        ConfigurationError(
            at: token.location, "unexpected '}' without a matching '{'",
            expected: "a directive, a server block, or the end of the file")
    }
}
