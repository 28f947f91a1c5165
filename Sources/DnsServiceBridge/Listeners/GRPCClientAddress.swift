import NIOCore

/// The client address one bridge passes to the next in gRPC request metadata (`send_client_address` on the
/// sender, `trusted_proxies` on the receiver), so a chain of bridges keeps the first client in logs, ECS and rate
/// limits. The value is the client's IP address; a list (`a, b`, as HTTP's X-Forwarded-For grows) names the
/// first client first.
enum GRPCClientAddress {
    /// The metadata key, HTTP's for the same purpose.
    static let metadataKey = "x-forwarded-for"

    /// The client `peer` (gRPC core's name for it) forwards for, when `trusted` trusts that peer and its metadata
    /// names an IP address; nil otherwise (the peer itself is then the client).
    static func forwarded(by peer: String, trusting trusted: TrustedProxies,
                          metadata: (String) -> String?) -> SocketAddress? {
        let peerAddress: ClientIP?
        if peer.hasPrefix("unix:") {
            peerAddress = nil
        } else {
            guard let address = QueryClient(transport: .grpc, peer: peer).ip else { return nil }
            peerAddress = address
        }
        guard trusted.trusts(peerAddress), let value = metadata(metadataKey) else { return nil }
        // SocketAddress reads the address (inet_pton) and refuses anything else: no check is needed before it.
        guard let first = value.split(separator: ",", maxSplits: 1).first else { return nil }
        return try? SocketAddress(ipAddress: String(first.filter { !$0.isWhitespace }), port: 0)
    }
}
