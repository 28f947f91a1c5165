/// Replaces `{$NAME}` and `{%NAME%}` inside tokens with environment values, as Caddy does after lexing, so a value
/// with spaces stays one token and a value of `{` is never a brace.
///
/// Unlike Caddy, which silently substitutes an empty string, a variable that is unset or empty is an error: an
/// empty upstream or zone is never what the operator meant.
struct EnvironmentSubstitution {
    let environment: [String: String]

    /// The token with every reference replaced; text without references is returned unchanged.
    func apply(to token: CorefileToken) throws(ConfigurationError) -> CorefileToken {
        guard token.text.contains("{$") || token.text.contains("{%") else { return token }
        var result = token
        result.text = try substitute(token.text, opening: "{%", closing: "%}", at: token.location)
        result.text = try substitute(result.text, opening: "{$", closing: "}", at: token.location)
        return result
    }

    private func substitute(
        _ text: String, opening: String, closing: String, at location: SourceLocation
    ) throws(ConfigurationError) -> String {
        var output = ""
        var rest = Substring(text)
        // Left to right, never rescanning substituted text, so a value that mentions itself cannot loop.
        while let start = rest.firstRange(of: opening) {
            let afterOpening = rest[start.upperBound...]
            guard let end = afterOpening.firstRange(of: closing) else { break }
            let name = String(afterOpening[..<end.lowerBound])
            output += rest[..<start.lowerBound]
            if name.isEmpty {
                output += opening + closing
            } else {
                guard let value = environment[name], !value.isEmpty else {
                    throw ConfigurationError(
                        at: location,
                        "environment variable '\(name)' is not set or is empty",
                        expected: "a non-empty value for \(opening)\(name)\(closing)")
                }
                output += value
            }
            rest = afterOpening[end.upperBound...]
        }
        output += rest
        return output
    }
}
