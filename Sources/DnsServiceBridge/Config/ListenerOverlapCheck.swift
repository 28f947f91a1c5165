/// Refuses two server blocks that would serve the same zone on the same listener, as CoreDNS's
/// `validateZonesAndListeningAddresses` does: the same scheme, zone, port (and reverse filter) twice on one bind
/// address, or once on every address and once on a specific one.
struct ListenerOverlapCheck {
    private struct Listener: Hashable {
        var scheme: ListenScheme
        var zone: String
        var port: Int
        var filter: ReverseNetwork?
        var host: String
    }

    private var registered: [Listener: SourceLocation] = [:]

    mutating func register(
        _ server: ServerBlockConfiguration, keyLocations: [SourceLocation]
    ) throws(ConfigurationError) {
        for (key, location) in zip(server.keys, keyLocations) {
            for host in server.listenHosts(for: key) {
                let listener = Listener(scheme: key.scheme, zone: key.zone, port: key.port, filter: key.reverseFilter, host: host)
                let onAddress = host.isEmpty ? "" : " on \(host)"
                if let existing = registered[listener] {
                    throw ConfigurationError(
                        at: location, "\(key)\(onAddress) is already served by the server block key at \(existing)",
                        expected: "each zone, scheme and port in one server block only")
                }
                var everywhere = listener
                everywhere.host = ""
                if !host.isEmpty, let existing = registered[everywhere] {
                    throw ConfigurationError(
                        at: location, "\(key)\(onAddress) overlaps the same zone on every address at \(existing)",
                        expected: "the same bind addresses for every block serving this zone and port")
                }
                if host.isEmpty, let existing = registered.first(where: { entry in
                    var unbound = entry.key
                    unbound.host = ""
                    return unbound == listener
                }) {
                    throw ConfigurationError(
                        at: location, "\(key) on every address overlaps the same zone bound to \(existing.key.host) at \(existing.value)",
                        expected: "the same bind addresses for every block serving this zone and port")
                }
                registered[listener] = location
            }
        }
    }
}
