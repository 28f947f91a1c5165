/// One word of a Corefile as the Caddyfile lexer sees it, with where it came from.
struct CorefileToken: Sendable, Hashable {
    /// How the token was written; only bare `{` and `}` are braces, so `"{"` and `{$VAR}` stay words.
    enum Kind: Sendable, Hashable {
        case word
        case quoted
        case openBrace
        case closeBrace
    }

    /// The text after quote removal and environment substitution.
    var text: String
    var kind: Kind
    /// The file (as named to the loader, or the absolute path of an import) and physical line where it starts.
    var location: SourceLocation
    /// True when a real line break (not a `\` continuation) separates it from the previous token of its file,
    /// or it is the first token; this is what "on the same line" means for arguments.
    var startsLine: Bool

    var isBrace: Bool { kind == .openBrace || kind == .closeBrace }
    var isOpenBrace: Bool { kind == .openBrace }
    var isCloseBrace: Bool { kind == .closeBrace }

    /// True for a bare word equal to `keyword`: a quoted `"import"` is an argument, never the directive.
    func isKeyword(_ keyword: String) -> Bool {
        kind == .word && text == keyword
    }
}
