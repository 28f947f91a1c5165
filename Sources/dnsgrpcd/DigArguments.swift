/// dig's argument forms for `dnsgrpcd query`, turned into its options: `@SERVER` is `--server SERVER`, `+tcp`,
/// `+dnssec`, `+norecurse`, `+bufsize=N` and `+timeout=SECONDS` the options of the same names. Anything else is left
/// as it is, so an unknown `+option` is reported by the parser.
enum DigArguments {
    static func rewrite(_ arguments: [String]) -> [String] {
        arguments.flatMap { argument -> [String] in
            if argument.hasPrefix("@") && argument.count > 1 { return ["--server", String(argument.dropFirst())] }
            guard argument.hasPrefix("+") else { return [argument] }
            let option = argument.dropFirst().split(separator: "=", maxSplits: 1).map(String.init)
            switch (option.first ?? "", option.count) {
            case ("tcp", 1), ("vc", 1): return ["--tcp"]
            case ("dnssec", 1): return ["--dnssec"]
            case ("norecurse", 1), ("norec", 1): return ["--no-recurse"]
            case ("bufsize", 2): return ["--bufsize", option[1]]
            case ("timeout", 2), ("time", 2): return ["--timeout", option[1]]
            default: return [argument]
            }
        }
    }
}
