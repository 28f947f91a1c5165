import NIOCore

/// Where a relayed query's answer goes: back to a UDP client, or to a gRPC call.
enum RelayClient: Sendable {
    case datagram(DatagramPeer)
    case call(RelayCall)
}

/// A gRPC call waiting for the relay's answer.
struct RelayCall: Sendable {
    /// gRPC core's name for the client (`ipv4:127.0.0.1:40000`), for metrics and the engine's context.
    let peer: String?
    /// The client a trusted peer (another bridge) forwards for (`trusted_proxies`); it stands for the client.
    var forwardedFor: SocketAddress? = nil
    /// Sends the answer (from any thread; on the completion-queue thread it goes out at once).
    let answer: @Sendable (DNSMessage) -> Void
    /// Ends the call with no answer, RESOURCE_EXHAUSTED: a step dropped its query (`ratelimit { action drop }`).
    let drop: @Sendable () -> Void
    /// Runs work on the completion-queue thread: the relay sends a whole batch of answers from there with one
    /// hand-over, instead of one per call.
    let onQueueThread: @Sendable (@escaping @Sendable () -> Void) -> Void
    /// Whether the client cancelled the call or its deadline passed: no one waits for the answer any more.
    let isCancelled: @Sendable () -> Bool
}

extension RelayClient {
    var transport: ClientTransport {
        switch self {
        case .datagram: .udp
        case .call: .grpc
        }
    }

    /// Whether the client gave up waiting (a gRPC call cancelled or past its deadline): its walk can stop. A UDP
    /// client's giving up cannot be seen.
    var gaveUp: Bool {
        switch self {
        case .datagram: false
        case .call(let call): call.isCancelled()
        }
    }

    /// The client as the engine's steps see it.
    var asker: QueryClient {
        switch self {
        case .datagram(let peer): QueryClient(transport: .udp, datagram: peer)
        case .call(let call):
            call.forwardedFor.map { QueryClient(transport: .grpc, address: $0) }
                ?? QueryClient(transport: .grpc, peer: call.peer)
        }
    }
}
