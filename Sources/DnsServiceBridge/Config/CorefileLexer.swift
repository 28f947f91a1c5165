/// Splits Corefile text into tokens the way Caddy's Caddyfile lexer does.
///
/// - Tokens are separated by white space; `\r` is ignored.
/// - `#` at the start of a token comments out the rest of the line. Inside a token it is literal, as in Caddy v2,
///   so `tls://9.9.9.9#dns.quad9.net` stays one token (CoreDNS's older lexer would cut it there).
/// - `"..."` makes one token that may hold spaces and line breaks; inside it `\"` is a quote and any other
///   backslash is kept as written, as Caddy does.
/// - A `\` right before a line break joins the next line to this one (Caddy v2), so its tokens are still
///   arguments of the same directive.
/// - Only a bare `{` or `}` is a brace; `{$VAR}` and `"{"` are words.
/// - A leading byte order mark is skipped.
struct CorefileLexer {
    /// The name tokens report as their file.
    let fileName: String

    /// Tokenizes `text`; fails only on a quoted string that never closes.
    func tokenize(_ text: String) throws(ConfigurationError) -> [CorefileToken] {
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }

        var tokens: [CorefileToken] = []
        var line = 1
        var atLineStart = true
        var index = 0

        func continuationLength(at position: Int) -> Int? {
            // `\` followed by `\n` or `\r\n`: how many scalars the continuation spans.
            guard position < scalars.count, scalars[position] == "\\" else { return nil }
            if position + 1 < scalars.count, scalars[position + 1] == "\n" { return 2 }
            if position + 2 < scalars.count, scalars[position + 1] == "\r", scalars[position + 2] == "\n" { return 3 }
            return nil
        }

        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\n" {
                line += 1
                atLineStart = true
                index += 1
                continue
            }
            if let length = continuationLength(at: index) {
                line += 1
                index += length
                continue
            }
            if scalar.properties.isWhitespace {
                index += 1
                continue
            }
            if scalar == "#" {
                while index < scalars.count, scalars[index] != "\n" { index += 1 }
                continue
            }
            if scalar == "\"" {
                let startLine = line
                var value = String.UnicodeScalarView()
                index += 1
                var closed = false
                while index < scalars.count {
                    let current = scalars[index]
                    if current == "\\", index + 1 < scalars.count {
                        let next = scalars[index + 1]
                        if next != "\"" { value.append(current) }
                        if next == "\n" { line += 1 }
                        value.append(next)
                        index += 2
                        continue
                    }
                    if current == "\"" {
                        index += 1
                        closed = true
                        break
                    }
                    if current == "\n" { line += 1 }
                    value.append(current)
                    index += 1
                }
                guard closed else {
                    throw ConfigurationError(
                        at: SourceLocation(file: fileName, line: startLine),
                        "quoted string is never closed",
                        expected: "a closing '\"' before the end of the file")
                }
                tokens.append(CorefileToken(
                    text: String(value), kind: .quoted,
                    location: SourceLocation(file: fileName, line: startLine), startsLine: atLineStart))
                atLineStart = false
                continue
            }

            var value = String.UnicodeScalarView()
            while index < scalars.count {
                let current = scalars[index]
                if current.properties.isWhitespace || continuationLength(at: index) != nil { break }
                value.append(current)
                index += 1
            }
            let word = String(value)
            let kind: CorefileToken.Kind = switch word {
            case "{": .openBrace
            case "}": .closeBrace
            default: .word
            }
            tokens.append(CorefileToken(
                text: word, kind: kind, location: SourceLocation(file: fileName, line: line), startsLine: atLineStart))
            atLineStart = false
        }
        return tokens
    }
}
