import DnsServiceBridge
import Foundation
import Logging

/// Where this run's configuration comes from: listener flags, an explicit or default Corefile, or CoreDNS's
/// built-in default (whoami and log on the root zone).
struct ConfigurationSource {
    let conf: String?
    let dnsPort: Int
    let grpc: [String]
    let dns: [String]
    let upstreams: [String]

    struct Conflict: Error, CustomStringConvertible {
        var description: String {
            "listener flags (--grpc, --dns) and -conf both given; expected one or the other"
        }
    }

    func load(logger: Logger) throws -> Configuration {
        if !grpc.isEmpty || !dns.isEmpty {
            guard conf == nil else { throw Conflict() }
            let text = try FlagCorefile.text(grpc: grpc, dns: dns, upstreams: upstreams)
            logger.debug("configuration from flags", metadata: ["corefile": "\(text)"])
            return try ConfigurationLoader.parse(text: text, fileName: "command line", defaultPort: dnsPort)
        }
        if let conf {
            return try ConfigurationLoader.load(file: conf, defaultPort: dnsPort)
        }
        if FileManager.default.fileExists(atPath: "Corefile") {
            return try ConfigurationLoader.load(file: "Corefile", defaultPort: dnsPort)
        }
        logger.notice("no Corefile and no listener flags: serving the default (whoami and log on .:\(dnsPort))")
        return try ConfigurationLoader.parse(text: ConfigurationLoader.defaultCorefile(port: dnsPort),
                                             fileName: "default Corefile", defaultPort: dnsPort)
    }

    /// Where the configuration comes from, for messages: the Corefile's path, the flags or the default.
    var name: String {
        if !grpc.isEmpty || !dns.isEmpty { return "the command line" }
        if let conf { return conf }
        return FileManager.default.fileExists(atPath: "Corefile") ? "Corefile" : "the default Corefile"
    }

    /// Reads the same source again (SIGHUP or the reload plugin).
    var reloadable: Bool { grpc.isEmpty && dns.isEmpty }

    /// What a reload reads: the Corefile in use (watched by the `reload` directive) and this same loader, so a
    /// SIGHUP also picks up a ./Corefile created after a start with the default configuration.
    func reloadSource(logger: Logger) -> ConfigurationReloader.Source {
        let file = reloadable ? (conf ?? (FileManager.default.fileExists(atPath: "Corefile") ? "Corefile" : nil)) : nil
        return ConfigurationReloader.Source(file: file) { try load(logger: logger) }
    }
}
