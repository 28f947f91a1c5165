import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 server for the operations endpoints (`/metrics`, `/health`, `/ready`) on one address.
public final class OperationsHTTPServer: Sendable {
    /// Makes the answer for one path; runs on an event loop, so it must not block.
    public typealias Route = @Sendable () -> OperationsHTTPResponse

    private let channel: any Channel
    /// The bound address (with the actual port when port 0 was asked for).
    public let boundAddress: SocketAddress?

    private init(channel: any Channel) {
        self.channel = channel
        boundAddress = channel.localAddress
    }

    /// Binds `host:port` (an empty host means every address) and serves `routes` by exact path.
    public static func bind(host: String, port: Int, routes: [String: Route],
                            group: any EventLoopGroup) async throws -> OperationsHTTPServer {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 64)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    try sync.configureHTTPServerPipeline(withErrorHandling: true)
                    // A scraper that goes quiet must not hold a connection for ever.
                    try sync.addHandler(IdleStateHandler(readTimeout: .seconds(60)))
                    try sync.addHandler(IdleConnectionCloser())
                    try sync.addHandler(OperationsHTTPHandler(routes: routes))
                }
            }
            .bind(host: host.isEmpty ? "::" : host, port: port)
            .get()
        return OperationsHTTPServer(channel: channel)
    }

    /// Stops listening.
    public func close() async {
        try? await channel.close()
    }
}

