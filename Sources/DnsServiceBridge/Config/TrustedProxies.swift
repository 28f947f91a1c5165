/// `trusted_proxies CIDR...|unix`: the gRPC peers (other bridges) whose request metadata may name the client they
/// forward for (`GRPCClientAddress.metadataKey`); that address then stands for the client in logs, ECS, rate
/// limits and whoami. `unix` trusts peers on the block's unix-socket listeners. Nobody is trusted by default.
public struct TrustedProxies: Sendable, Hashable {
    public var networks: [ClientNetwork] = []
    public var unixPeers = false

    public init(networks: [ClientNetwork] = [], unixPeers: Bool = false) {
        self.networks = networks
        self.unixPeers = unixPeers
    }

    public var isEmpty: Bool { networks.isEmpty && !unixPeers }

    static let usage = "trusted_proxies CIDR...|unix"

    static func parse(_ line: CorefileLine) throws(ConfigurationError) -> TrustedProxies {
        try line.requireArguments(1...Int.max, usage: usage)
        try line.requireNoBlock(usage: usage)
        var trusted = TrustedProxies()
        for argument in line.arguments {
            if argument.text == "unix" {
                trusted.unixPeers = true
                continue
            }
            guard let network = ClientNetwork(argument.text) else {
                throw ConfigurationError(at: argument.location, "trusted_proxies '\(argument.text)' is not a network",
                                         expected: "an IP address or CIDR such as 10.0.0.0/8, or unix")
            }
            trusted.networks.append(network)
        }
        return trusted
    }

    /// Whether a peer with this address (nil: a unix-socket peer) may name its client.
    func trusts(_ address: ClientIP?) -> Bool {
        guard let address else { return unixPeers }
        return networks.contains { $0.contains(address) }
    }

    /// Both lists together (blocks sharing a listener each add theirs).
    func merged(with other: TrustedProxies) -> TrustedProxies {
        TrustedProxies(networks: networks + other.networks.filter { !networks.contains($0) },
                       unixPeers: unixPeers || other.unixPeers)
    }
}
