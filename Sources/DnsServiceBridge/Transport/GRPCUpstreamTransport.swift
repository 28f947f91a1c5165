import NIOCore
import NIOPosix
import Synchronization

/// A gRPC DnsService upstream (CoreDNS `grpc://` server or any implementation): one channel (or a pool of them,
/// each with its own connection, for upstreams that limit the streams of one connection), HTTP/2 multiplexing
/// every query, a deadline per call, and gRPC core reconnecting after the upstream restarts.
public final class GRPCUpstreamTransport: UpstreamExchanger {
    public let label: String
    private let channels: [GRPCChannel]
    private let nextChannel = Atomic<Int>(0)
    private let group: any EventLoopGroup
    let counters = TransportCounters()

    /// - Parameters:
    ///   - target: `HOST:PORT`, or a target gRPC core resolves itself (`dns:///name:port`, `unix:/path`).
    ///   - channels: how many channels calls take turns on; more than one gives each its own connection.
    public init(label: String, target: String, security: GRPCChannelSecurity,
                settings: GRPCChannel.Settings = GRPCChannel.Settings(), channels: Int = 1,
                group: any EventLoopGroup) throws(GRPCCallError) {
        self.label = label
        self.group = group
        var settings = settings
        settings.ownConnections = channels > 1
        var opened: [GRPCChannel] = []
        for _ in 0..<max(1, channels) {
            do { opened.append(try GRPCChannel(target: target, security: security, settings: settings)) } catch {
                opened.forEach { $0.close() }
                throw error
            }
        }
        self.channels = opened
    }

    public func exchange(_ query: DNSMessage, over proto: ExchangeProtocol, deadline: NIODeadline)
        -> EventLoopFuture<DNSMessage> {
        exchange(query, over: proto, deadline: deadline, clientAddress: nil)
    }

    public func exchange(_ query: DNSMessage, over proto: ExchangeProtocol, deadline: NIODeadline,
                         clientAddress: String?) -> EventLoopFuture<DNSMessage> {
        // On the caller's own loop when it is one: the reply then never needs a loop other than the one asking.
        let promise = (MultiThreadedEventLoopGroup.currentEventLoop ?? group.any()).makePromise(of: DNSMessage.self)
        let timeout = Duration.nanoseconds(max(1, (deadline - .now()).nanoseconds))
        counters.exchanges.add(1, ordering: .relaxed)
        let channel = channels.count == 1 ? channels[0]
            : channels[nextChannel.add(1, ordering: .relaxed).oldValue % channels.count]
        channel.unaryCall(method: DnsServiceMethod.query, request: DnsPacketCodec.encode(query.bytes),
                          timeout: timeout,
                          metadata: clientAddress.map { (GRPCClientAddress.metadataKey, $0) }) { [label, counters] result in
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

    public var idleConnections: Int { channels.reduce(0) { $0 + ($1.isReady ? 1 : 0) } }

    public func close() { channels.forEach { $0.close() } }
}
