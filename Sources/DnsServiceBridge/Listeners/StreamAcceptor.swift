import NIOCore
import NIOPosix
import Synchronization

/// Accepts TCP connections (plain DNS, DoT, DoH) on a listening socket bound outside NIO, so that a reload can hand
/// the socket, with the connections waiting in its queue, to the next configuration (`ListeningSocket`). Admits each
/// connection into a `ConnectionTable` and gives it `pipeline`; can pause (a hand-over in progress), resume (the
/// hand-over failed) and close, closing the connections still open.
final class StreamAcceptor: Sendable {
    /// Sets up an admitted connection's pipeline (on its event loop).
    typealias Pipeline = @Sendable (any Channel, ConnectionTable.Slot) -> EventLoopFuture<Void>

    let socket: ListeningSocket
    /// The connections accepted, whichever channel accepted them.
    let table: ConnectionTable
    private let channel: Mutex<(any Channel)?>

    /// The bound address (with the port the kernel chose for port 0).
    let localAddress: SocketAddress?

    private init(socket: ListeningSocket, table: ConnectionTable, channel: any Channel) {
        self.socket = socket
        self.table = table
        self.channel = Mutex(channel)
        localAddress = channel.localAddress
    }

    /// Accepts on `socket` (bound here, or handed on by the configuration before).
    static func start(on socket: ListeningSocket, table: ConnectionTable, group: MultiThreadedEventLoopGroup,
                      sendBuffer: SocketOptionValue, pipeline: @escaping Pipeline) async throws -> StreamAcceptor {
        let channel = try await ServerBootstrap(group: group)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            // A fixed send buffer instead of the kernel's autotuned one (up to 4 MiB): a client that leaves its
            // replies unread is paused after about 128 KiB, not after thousands of answers the upstream was asked for.
            .childChannelOption(.socketOption(.so_sndbuf), value: sendBuffer)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                guard let slot = table.admit(channel) else { return channel.close() }
                channel.closeFuture.whenComplete { _ in table.remove(slot) }
                return pipeline(channel, slot)
            }
            .withBoundSocket(try socket.descriptorForNIO())
            .get()
        return StreamAcceptor(socket: socket, table: table, channel: channel)
    }

    /// Pauses or resumes accepting. Paused, connections wait in the socket's queue: two NIO channels must not
    /// accept from one socket, and closing the channel would drop the connections it is accepting.
    func setAccepting(_ accepting: Bool) async {
        guard let channel = channel.withLock({ $0 }) else { return }
        try? await channel.setOption(.autoRead, value: accepting).get()
    }

    /// Stops accepting for good (shutdown); connections already accepted keep being served.
    func stopAccepting() async {
        if let channel = channel.withLock({ $0.take() }) { try? await channel.close() }
    }

    /// Stops accepting, closes the connections still open and this owner's socket (a new owner keeps it open).
    func close() async {
        await stopAccepting()
        table.closeAll()
        socket.close()
    }
}
