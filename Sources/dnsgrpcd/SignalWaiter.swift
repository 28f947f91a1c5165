import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Delivers SIGHUP (reload) as an async sequence instead of its default action (exit). SIGTERM and SIGINT
/// belong to swift-service-lifecycle's graceful shutdown.
enum SignalWaiter {
    static func reloads() -> AsyncStream<Void> {
        AsyncStream { continuation in
            signal(SIGHUP, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "dnsgrpcd.sighup"))
            source.setEventHandler { continuation.yield() }
            source.resume()
            nonisolated(unsafe) let keep = source
            continuation.onTermination = { _ in keep.cancel() }
        }
    }
}
