import NIOCore
import NIOPosix

/// A TCP (or, with a TLS handler in front, DoT) connection to one upstream that carries several exchanges at
/// once: queries are pipelined and replies matched by ID and question (see `MultiplexedExchangeHandler`).
/// When the connection fails, every exchange pending on it fails with it.
typealias MultiplexedStreamConnection = ExchangeChannel<MultiplexedExchangeHandler>

extension ExchangeChannel where Handler == MultiplexedExchangeHandler {
    /// Connects to `address`; `prepare` may add handlers in front (TLS) before the DNS framing. Each exchange's
    /// reply has the ID the connection chose, not its query's.
    static func connect(to address: SocketAddress, label: String, on loop: any EventLoop,
                        connectTimeout: TimeAmount, counters: TransportCounters, maxInFlight: Int,
                        prepare: (@Sendable (any Channel) throws -> Void)? = nil)
        -> EventLoopFuture<MultiplexedStreamConnection> {
        connectStream(to: address, label: label, on: loop, connectTimeout: connectTimeout, prepare: prepare) {
            MultiplexedExchangeHandler(label: label, counters: counters, maxInFlight: maxInFlight)
        }
    }
}
