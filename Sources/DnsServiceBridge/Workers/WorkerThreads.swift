import Foundation
import Logging
import NIOCore
import Synchronization

/// Worker threads of their own (a gRPC listener's workers are its completion-queue threads instead:
/// `QueueThreadRelay`), each running a `Worker` until `close()`: a `dns://` listener's relay threads, each with its
/// own socket on the listening port (SO_REUSEPORT, so the kernel spreads clients over them), and a server instance's
/// exchange workers, each with an inbox for the UDP exchanges event loops ask for.
final class WorkerThreads: Sendable {
    /// What the threads watch: whether to stop, and how many still run.
    final class Control: Sendable {
        private let stopping = Atomic<Bool>(false)
        private let running = Atomic<Int>(0)
        private let listening = Atomic<Bool>(true)
        private let notReading = Atomic<Int>(0)

        var isStopping: Bool { stopping.load(ordering: .relaxed) }
        /// Whether the workers read queries from their listening sockets; false once handed on.
        var isListening: Bool { listening.load(ordering: .acquiring) }
        func stopListening() { listening.store(false, ordering: .releasing) }
        /// A worker says it read its last query (after `stopListening()`); `readersDone` counts them.
        func stoppedReading() { notReading.add(1, ordering: .releasing) }
        var readersDone: Int { notReading.load(ordering: .acquiring) }
        var isRunning: Bool { running.load(ordering: .acquiring) > 0 }

        func stop() { stopping.store(true, ordering: .relaxed) }
        func started() { running.add(1, ordering: .relaxed) }
        func ended() { running.subtract(1, ordering: .releasing) }
    }

    private let sockets: [DatagramSocket]
    private let control = Control()

    /// SO_RCVBUF of each of a listener's UDP sockets: 4 MiB (unbound's advice for so-rcvbuf) holds a few thousand
    /// queries while its relay thread waits for a CPU, where the system's default (208 KiB) dropped good queries of
    /// `make soak` at saturation. The kernel caps it at net.core.rmem_max.
    static let listenerReceiveBuffer = 4 * 1024 * 1024

    /// A `dns://` listener's relay threads: binds a socket per thread on host:port (the port the first one got when
    /// 0) and starts a worker on each.
    static func relay(_ plan: WorkerPlan, host: String, port: Int, logger: Logger)
        throws(DatagramSocketError) -> WorkerThreads {
        var sockets: [DatagramSocket] = []
        var port = port
        for _ in 0..<plan.threads {
            let socket = try DatagramSocket.bind(host: host, port: port, receiveBuffer: Self.listenerReceiveBuffer)
            if port == 0 { port = socket.localAddress?.port ?? 0 }
            sockets.append(socket)
        }
        return relay(plan, sockets: sockets, logger: logger)
    }

    /// Relay threads on sockets already bound: those a reload hands on from the configuration before, with the
    /// datagrams already queued on them.
    static func relay(_ plan: WorkerPlan, sockets: [DatagramSocket], logger: Logger) -> WorkerThreads {
        WorkerThreads(name: "udp-relay", sockets: sockets, logger: logger) { index in
            Worker(plan: plan, listener: sockets[index])
        }
    }

    /// Duplicates of the listening sockets, for the next configuration's relay.
    func duplicateSockets() -> [DatagramSocket] {
        sockets.compactMap { $0.duplicate() }
    }

    /// The workers stop reading queries (the next configuration's read the same sockets now); they go on with the
    /// exchanges in flight and answer them on their sockets. Returns once every worker has read its last query
    /// (within a second), so that nothing read afterwards meets a configuration that is going away.
    func stopListening() async {
        control.stopListening()
        for _ in 0..<1000 where control.readersDone < sockets.count && control.isRunning {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Starts a thread per `sockets` (or `count` threads when there are none), each running `makeWorker(index)`.
    init(name: String, sockets: [DatagramSocket] = [], count: Int = 0, logger: Logger,
         makeWorker: @escaping @Sendable (Int) -> Worker?) {
        self.sockets = sockets
        for index in 0..<(sockets.isEmpty ? count : sockets.count) {
            control.started()
            let control = control
            let thread = Thread {
                defer { control.ended() }
                // Linux keeps 15 bytes of a thread's name.
                Thread.current.name = "\(name)-\(index)"
                guard let worker = makeWorker(index) else {
                    logger.error("cannot allocate a worker's buffers; it does not start", metadata: ["worker": "\(name)"])
                    return
                }
                worker.run(until: control)
                QueryMetricsStore.shared.threadEnds()
            }
            thread.start()
        }
    }

    /// The bound addresses of a relay's sockets, with the actual port when port 0 was asked for.
    var boundAddresses: [SocketAddress] { sockets.compactMap(\.localAddress) }

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
