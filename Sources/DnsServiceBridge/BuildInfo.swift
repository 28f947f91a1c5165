/// What this build is, for `dnsgrpcd -version` and `-plugins` (CoreDNS's two flags of the same names).
public enum BuildInfo {
    /// The release this source is; raised with each release.
    public static let version = "0.5.0"

    /// The schemes a server block key may have, as CoreDNS's "Server types".
    public static let serverTypes = ["dns", "tls", "grpc"]

    /// Every directive a server block may use, in the order `-plugins` lists them.
    public static var directives: [String] { ServerBlockBuilder.directives }

    /// `dnsgrpcd -version`: the release, then the platform and gRPC core, as CoreDNS prints its own.
    public static var versionText: String {
        "dnsgrpcd-\(version)\n\(platform), grpc-core \(gRPCCoreVersion())\n"
    }

    /// `dnsgrpcd -plugins`: the server types and the directives, in CoreDNS's layout.
    public static var pluginsText: String {
        "Server types:\n" + serverTypes.map { "  \($0)\n" }.joined()
            + "\nPlugins:\n" + directives.map { "  dns.\($0)\n" }.joined()
    }

    private static var platform: String {
        #if os(Linux)
        let system = "linux"
        #else
        let system = "darwin"
        #endif
        #if arch(x86_64)
        return "\(system)/amd64"
        #elseif arch(arm64)
        return "\(system)/arm64"
        #else
        return system
        #endif
    }
}
