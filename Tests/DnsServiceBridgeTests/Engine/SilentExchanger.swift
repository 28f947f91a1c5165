import NIOCore
import NIOPosix
@testable import DnsServiceBridge

/// An upstream that tests only name (in a walk, a set): nothing is exchanged through it, and a health check a walk
/// starts after a failure fails at once.
final class SilentExchanger: UpstreamExchanger {
    let label: String

    init(_ label: String) { self.label = label }

    func exchange(_ query: DNSMessage, over proto: ExchangeProtocol, deadline: NIODeadline)
        -> EventLoopFuture<DNSMessage> {
        MultiThreadedEventLoopGroup.singleton.any().makeFailedFuture(ExchangeError.shutDown)
    }

    var droppedReplies: Int { 0 }
    var idleConnections: Int { 0 }
    func close() {}
}
