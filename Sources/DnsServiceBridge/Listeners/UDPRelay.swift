import Foundation
import Logging
import NIOCore
import Synchronization

/// Relay threads for a `dns://` listener whose block only forwards over `multiplex_udp` (`UDPRelayPlan`), one per
/// event loop, each running a `UDPRelayWorker` with its own socket on the listening port (SO_REUSEPORT, so the kernel
/// spreads clients over them) and its own sockets to the upstreams, in place of NIO's UDP channels; TCP stays on
/// NIO. (A gRPC listener's relay runs on its completion-queue thread instead: `QueueThreadRelay`.)
final class UDPRelay: Sendable {
    /// What the relay's threads watch: whether to stop, and how many still run.
    final class Control: Sendable {
        private let stopping = Atomic<Bool>(false)
        private let running = Atomic<Int>(0)

        var isStopping: Bool { stopping.load(ordering: .relaxed) }
        var isRunning: Bool { running.load(ordering: .acquiring) > 0 }

        func stop() { stopping.store(true, ordering: .relaxed) }
        func started() { running.add(1, ordering: .relaxed) }
        func ended() { running.subtract(1, ordering: .releasing) }
    }

    private let sockets: [DatagramSocket]
    private let control = Control()
    /// The bound addresses of a `dns://` listener's sockets, with the actual port when port 0 was asked for.
    let boundAddresses: [SocketAddress]

    /// Binds a socket per event loop on host:port (the port the first one got when 0) and starts a thread for each.
    init(plan: UDPRelayPlan, host: String, port: Int, logger: Logger) throws(DatagramSocketError) {
        var sockets: [DatagramSocket] = []
        var port = port
        for _ in 0..<plan.threads {
            let socket = try DatagramSocket.bind(host: host, port: port)
            if port == 0 { port = socket.localAddress?.port ?? 0 }
            sockets.append(socket)
        }
        self.sockets = sockets
        boundAddresses = sockets.compactMap(\.localAddress)
        for (index, socket) in sockets.enumerated() {
            start(index, plan: plan, listener: socket, logger: logger)
        }
    }

    private func start(_ index: Int, plan: UDPRelayPlan, listener: DatagramSocket, logger: Logger) {
        control.started()
        let control = control
        let thread = Thread {
            defer { control.ended() }
            Thread.current.name = "udp-relay-\(index)"
            guard let worker = UDPRelayWorker(plan: plan, listener: listener) else {
                logger.error("cannot allocate the UDP relay's buffers; its socket closes")
                listener.close()
                return
            }
            worker.run(until: control)
            listener.close()
        }
        thread.start()
    }

    /// Stops the threads and closes the sockets (queries still waiting get no answer); waits for the threads, up to
    /// a second.
    func close() async {
        control.stop()
        for _ in 0..<200 where control.isRunning {
            try? await Task.sleep(for: .milliseconds(5))
        }
        sockets.forEach { $0.close() }
    }
}
