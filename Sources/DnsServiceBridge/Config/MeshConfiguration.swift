/// The options of forward and grpc that go beyond CoreDNS for a gRPC service mesh: the client's address passed on
/// (ECS, gRPC metadata) and how gRPC upstreams are connected.
public struct MeshConfiguration: Sendable, Hashable {
    /// `client_subnet [IPV4_PREFIX [IPV6_PREFIX]]`: the source prefix lengths of the EDNS Client Subnet option
    /// (RFC 7871) made from the client's address; nil when off (the default).
    public struct ClientSubnet: Sendable, Hashable {
        /// RFC 7871's recommended defaults: 24 and 56 bits.
        public var ipv4Prefix = 24
        public var ipv6Prefix = 56

        public init(ipv4Prefix: Int = 24, ipv6Prefix: Int = 56) {
            self.ipv4Prefix = ipv4Prefix
            self.ipv6Prefix = ipv6Prefix
        }
    }

    public var clientSubnet: ClientSubnet?
    /// `send_client_address`: gRPC upstreams get the client's address in the request metadata
    /// (`GRPCClientAddress.metadataKey`).
    public var sendClientAddress = false
    /// `channels N`: gRPC channels, each with its own connection, per gRPC upstream (1 by default).
    public var channels = 1
    /// `keepalive INTERVAL [TIMEOUT]`: HTTP/2 pings to gRPC upstreams; nil (the default) sends none.
    public var keepalive: Keepalive?

    public struct Keepalive: Sendable, Hashable {
        public var interval: Duration
        /// How long a ping may go unanswered before the connection is given up (20 s, gRPC's default).
        public var timeout: Duration = .seconds(20)
    }

    public init() {}
}

/// Reads the mesh options inside a forward or grpc block.
enum MeshOptionParser {
    static let options = ["channels", "client_subnet", "keepalive", "send_client_address"]

    /// Reads `option` into `mesh` when it is one of `options`; false leaves it to the caller.
    static func parse(_ option: CorefileLine, into mesh: inout MeshConfiguration) throws(ConfigurationError) -> Bool {
        switch option.name {
        case "client_subnet":
            let usage = "client_subnet [IPV4_PREFIX [IPV6_PREFIX]]"
            try option.requireArguments(0...2, usage: usage)
            try option.requireNoBlock(usage: usage)
            var subnet = MeshConfiguration.ClientSubnet()
            if option.arguments.count > 0 {
                subnet.ipv4Prefix = try OptionValue.integer(
                    option.arguments[0], for: "client_subnet IPv4 prefix", in: 0...32, expected: "0 to 32 bits")
            }
            if option.arguments.count > 1 {
                subnet.ipv6Prefix = try OptionValue.integer(
                    option.arguments[1], for: "client_subnet IPv6 prefix", in: 0...128, expected: "0 to 128 bits")
            }
            mesh.clientSubnet = subnet
        case "send_client_address":
            try ForwarderOptions.flag(option)
            mesh.sendClientAddress = true
        case "channels":
            let value = try ForwarderOptions.single(option, usage: "channels COUNT")
            mesh.channels = try OptionValue.integer(value, for: "channels", in: 1...64, expected: "1 to 64 channels")
        case "keepalive":
            let usage = "keepalive INTERVAL [TIMEOUT]"
            try option.requireArguments(1...2, usage: usage)
            try option.requireNoBlock(usage: usage)
            var keepalive = MeshConfiguration.Keepalive(
                interval: try OptionValue.duration(option.arguments[0], for: "keepalive interval"))
            if option.arguments.count > 1 {
                keepalive.timeout = try OptionValue.duration(option.arguments[1], for: "keepalive timeout")
            }
            // grpc-go's clients raise anything below 10 s to 10 s, and most servers answer more frequent pings
            // with GOAWAY too_many_pings.
            guard keepalive.interval >= .seconds(10), keepalive.timeout >= .seconds(1) else {
                throw option.error("keepalive \(option.arguments.map(\.text).joined(separator: " ")) is too short",
                                   expected: "an interval of at least 10s and a timeout of at least 1s")
            }
            mesh.keepalive = keepalive
        default:
            return false
        }
        return true
    }
}
