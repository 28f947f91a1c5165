import NIOCore
import NIOPosix

/// A gRPC DnsService upstream (CoreDNS `grpc://` server or any implementation): one channel, HTTP/2
/// multiplexing every query, a deadline per call, and gRPC core reconnecting after the upstream restarts.
public final class GRPCUpstreamTransport: UpstreamExchanger {
    public let label: String
    private let channel: GRPCChannel
    private let group: any EventLoopGroup
    let counters = TransportCounters()

    /// - Parameter target: `HOST:PORT` as gRPC core takes it.
    public init(label: String, target: String, security: GRPCChannelSecurity, group: any EventLoopGroup)
        throws(GRPCCallError) {
        self.label = label
        self.group = group
        channel = try GRPCChannel(target: target, security: security)
    }

    public func exchange(_ query: DNSMessage, over proto: ExchangeProtocol, deadline: NIODeadline)
        -> EventLoopFuture<DNSMessage> {
        // On the caller's own loop when it is one: the reply then never needs a loop other than the one asking.
        let promise = (MultiThreadedEventLoopGroup.currentEventLoop ?? group.any()).makePromise(of: DNSMessage.self)
        let timeout = Duration.nanoseconds(max(1, (deadline - .now()).nanoseconds))
        counters.exchanges.add(1, ordering: .relaxed)
        channel.unaryCall(method: DnsServiceMethod.query, request: DnsPacketCodec.encode(query.bytes),
                          timeout: timeout) { [label, counters] result in
            promise.completeWith(Self.reply(to: query, from: result, label: label, counters: counters))
        }
        return promise.futureResult
    }

    private static func reply(to query: DNSMessage, from result: Result<[UInt8], GRPCCallError>, label: String,
                              counters: TransportCounters) -> Result<DNSMessage, any Error> {
        switch result {
        case .failure(let error) where error.status == .deadlineExceeded:
            return .failure(ExchangeError.timeout(upstream: label))
        case .failure(let error):
            return .failure(ExchangeError.upstreamStatus(upstream: label, status: "\(error.status): \(error.details)"))
        case .success(let packet):
            guard let bytes = try? DnsPacketCodec.decode(packet), !bytes.isEmpty else {
                return .failure(ExchangeError.badReply(upstream: label, reason: "not a DnsPacket with a message"))
            }
            guard let reply = try? DNSMessage(bytes: bytes) else {
                return .failure(ExchangeError.badReply(upstream: label, reason: "DnsPacket.msg is not DNS"))
            }
            guard reply.isAnswer(to: query) else {
                counters.mismatchedReplies.add(1, ordering: .relaxed)
                return .failure(ExchangeError.badReply(upstream: label, reason: "ID or question does not match"))
            }
            return .success(reply)
        }
    }

    public var droppedReplies: Int { counters.mismatchedReplies.load(ordering: .relaxed) }

    public var idleConnections: Int { channel.isReady ? 1 : 0 }

    public func close() { channel.close() }
}
