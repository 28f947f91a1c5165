import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Delivers SIGTERM/SIGINT (stop) and SIGHUP (reload) as an async sequence, instead of default handling.
struct SignalWaiter {
    enum Event: Sendable { case stop(Int32), reload }

    static func events() -> AsyncStream<Event> {
        AsyncStream { continuation in
            let queue = DispatchQueue(label: "dnsgrpcd.signals")
            var sources: [any DispatchSourceSignal] = []
            for signalNumber in [SIGTERM, SIGINT, SIGHUP] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
                source.setEventHandler {
                    continuation.yield(signalNumber == SIGHUP ? .reload : .stop(signalNumber))
                }
                source.resume()
                sources.append(source)
            }
            nonisolated(unsafe) let keep = sources
            continuation.onTermination = { _ in keep.forEach { $0.cancel() } }
        }
    }
}
