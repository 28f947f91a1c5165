/// What a directive parser needs to know about its surroundings.
struct DirectiveContext {
    /// Relative TLS, hosts and resolv.conf paths are taken from here, as CoreDNS takes them from its working
    /// directory; they are recorded as absolute paths.
    var workingDirectory: String
    /// The zones of the server block's keys, which `hosts` and `cache` default to.
    var blockZones: [String]
    /// Warnings collected while parsing.
    var warnings: [ConfigurationWarning] = []
}
