import Foundation
import Logging
import NIOCore
import Synchronization

/// CoreDNS's `loop`: once the listeners are up, the block sends itself `HINFO <random>.<random>.ZONE` and watches
/// for that name. Forwarded back to us by a chain of upstreams, it arrives again and again; the third time the
/// process stops with CoreDNS's message (a forwarding loop burns every upstream's capacity). When the probe is
/// answered, or after 30 s of trying, detection is off and the plugin costs nothing.
final class LoopPlugin: QueryStep, Sendable {
    private struct State {
        var seen = 0
        var off = false
        var probe: Task<Void, Never>?
    }

    let zone: DNSName
    let probeName: DNSName
    /// `HOST:PORT` of the block's first listener, where the probe goes.
    let address: String
    private let logger: Logger
    private let state = Mutex(State())
    /// What happens on a loop: the message is logged and the process exits, as CoreDNS's log.Fatalf does.
    private let detected: @Sendable (String) -> Void

    init(zone: DNSName, address: String, logger: Logger,
         detected: @escaping @Sendable (String) -> Void = LoopPlugin.exitProcess) {
        self.zone = zone
        self.address = address
        self.logger = logger
        self.detected = detected
        let first = String(UInt64.random(in: 0...UInt64(Int64.max)))
        let second = String(UInt64.random(in: 0...UInt64(Int64.max)))
        probeName = (try? DNSName("\(first).\(second).\(zone)")) ?? zone
    }

    func answer(_ query: DNSMessage, from client: QueryClient) -> DNSMessage? {
        guard let question = query.question, question.type == .hinfo, question.name == probeName else { return nil }
        let count = state.withLock { state -> Int in
            guard !state.off else { return 0 }
            state.seen += 1
            return state.seen
        }
        if count > 2 {
            detected("Loop (\(client.name ?? "?") -> \(address)) detected for zone \"\(zone)\", see "
                + "https://coredns.io/plugins/loop#troubleshooting. Query: \"HINFO \(probeName)\"")
        }
        return nil
    }

    /// Sends the probe from now on: every second until it is answered, for 30 s at most, as CoreDNS does.
    func startProbing() {
        let task = Task { [self] in
            let deadline = ContinuousClock.now + .seconds(30)
            defer { state.withLock { $0.off = true } }
            guard let client = try? SingleExchange(server: address, tls: .init(), logger: logger) else { return }
            let query = DNSMessage.query(name: probeName, type: .hinfo, id: UInt16.random(in: .min ... .max))
            var answered = false
            while ContinuousClock.now < deadline, !Task.isCancelled {
                if (try? await client.exchange(query, over: .udp, timeout: .seconds(2))) != nil {
                    answered = true
                    break
                }
                state.withLock { $0.seen = 0 }
                try? await Task.sleep(for: .seconds(1))
            }
            await client.close()
            logger.debug("loop detection over", metadata: ["zone": "\(zone)", "probe": "HINFO \(probeName)",
                                                           "answered": "\(answered)"])
        }
        state.withLock { $0.probe = task }
    }

    func stop() {
        let probe = state.withLock { state -> Task<Void, Never>? in
            state.off = true
            return state.probe
        }
        probe?.cancel()
    }

    @Sendable static func exitProcess(_ message: String) {
        FileHandle.standardError.write(Data("[FATAL] plugin/loop: \(message)\n".utf8))
        exit(1)
    }
}
