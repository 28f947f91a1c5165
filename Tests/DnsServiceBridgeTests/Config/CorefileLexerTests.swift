import Testing
@testable import DnsServiceBridge

@Suite struct CorefileLexerTests {
    private func lex(_ text: String) throws -> [CorefileToken] {
        try CorefileLexer(fileName: "Corefile").tokenize(text)
    }

    /// (text, line, startsLine) for compact expectations.
    private func summary(_ tokens: [CorefileToken]) -> [String] {
        tokens.map { "\($0.text)@\($0.location.line)\($0.startsLine ? "^" : "")" }
    }

    @Test func splitsWordsAndLinesAndBraces() throws {
        let tokens = try lex(". {\n    forward . 127.0.0.1:9005\n}\n")
        #expect(summary(tokens) == [".@1^", "{@1", "forward@2^", ".@2", "127.0.0.1:9005@2", "}@3^"])
        #expect(tokens.map(\.kind) == [.word, .openBrace, .word, .word, .word, .closeBrace])
    }

    @Test func commentsRunToEndOfLineOnlyAtTokenStart() throws {
        let tokens = try lex("# header\nforward . tls://9.9.9.9#dns.quad9.net # trailing\nlog#not-a-comment\n")
        #expect(summary(tokens) == ["forward@2^", ".@2", "tls://9.9.9.9#dns.quad9.net@2", "log#not-a-comment@3^"])
    }

    @Test func quotedStringsKeepSpacesAndEscapedQuotes() throws {
        let tokens = try lex(#"log "a b" "say \"hi\"" "back\slash" "\\" x"#)
        #expect(tokens.map(\.text) == ["log", "a b", #"say "hi""#, #"back\slash"#, #"\\"#, "x"])
        #expect(tokens[1].kind == .quoted)
    }

    @Test func quotedStringMaySpanLinesAndKeepsItsStartLine() throws {
        let tokens = try lex("a \"one\ntwo\" b\nc")
        #expect(summary(tokens) == ["a@1^", "one\ntwo@1", "b@2", "c@3^"])
    }

    @Test func quotedBraceIsAWord() throws {
        let tokens = try lex(#"x "{" "}""#)
        #expect(tokens.map(\.kind) == [.word, .quoted, .quoted])
    }

    @Test func backslashNewlineContinuesTheLine() throws {
        let tokens = try lex("forward . 127.0.0.1 \\\n    127.0.0.2\\\r\n127.0.0.3\nlog\n")
        #expect(summary(tokens) == ["forward@1^", ".@1", "127.0.0.1@1", "127.0.0.2@2", "127.0.0.3@3", "log@4^"])
    }

    @Test func environmentReferenceIsOneWord() throws {
        let tokens = try lex(".:53 {\n    {$ENV_VAR}\n}")
        #expect(tokens.map(\.text) == [".:53", "{", "{$ENV_VAR}", "}"])
        #expect(tokens[2].kind == .word)
    }

    @Test func byteOrderMarkAndCarriageReturnsAreIgnored() throws {
        let tokens = try lex("\u{FEFF}.\r\n{\r\n}\r\n")
        #expect(summary(tokens) == [".@1^", "{@2^", "}@3^"])
    }

    @Test func unterminatedQuoteIsAnError() {
        #expect(throws: ConfigurationError(
            at: at(2), "quoted string is never closed", expected: "a closing '\"' before the end of the file"
        )) {
            try lex("a\nb \"open\nstill open\n")
        }
    }
}

@Suite struct EnvironmentSubstitutionTests {
    private func substitute(_ text: String, _ environment: [String: String]) throws -> String {
        let token = CorefileToken(text: text, kind: .word, location: at(1), startsLine: true)
        return try EnvironmentSubstitution(environment: environment).apply(to: token).text
    }

    @Test func replacesBothSyntaxesInsideTokens() throws {
        let environment = ["HOST": "127.0.0.1", "PORT": "1053", "SELF": "{$SELF}"]
        #expect(try substitute("{$HOST}:{%PORT%}", environment) == "127.0.0.1:1053")
        #expect(try substitute("{$SELF}", environment) == "{$SELF}")
        #expect(try substitute("{$}", environment) == "{$}")
        #expect(try substitute("{$UNCLOSED", environment) == "{$UNCLOSED")
    }

    @Test func valueWithSpacesStaysOneToken() {
        let error = corefileError(
            ".:15353 {\n    forward . {$UPSTREAMS}\n}\n", environment: ["UPSTREAMS": "127.0.0.1 127.0.0.2"])
        #expect(error == "Corefile:2: upstream '127.0.0.1 127.0.0.2' is not an IP address or an existing file; "
            + "expected IP[:PORT], [IPv6]:PORT, tls://IP[#NAME][:PORT], grpc://IP[:PORT] or a resolv.conf path")
    }

    @Test func unsetOrEmptyVariableIsAnError() {
        let expected = "Corefile:2: environment variable 'UPSTREAM' is not set or is empty; "
            + "expected a non-empty value for {$UPSTREAM}"
        #expect(corefileError(".:15353 {\n    forward . {$UPSTREAM}\n}\n") == expected)
        #expect(corefileError(".:15353 {\n    forward . {$UPSTREAM}\n}\n", environment: ["UPSTREAM": ""]) == expected)
        #expect(corefileError(".:15353 {\n    forward . {%UPSTREAM%}:53\n}\n")
            == "Corefile:2: environment variable 'UPSTREAM' is not set or is empty; expected a non-empty value for {%UPSTREAM%}")
    }
}
