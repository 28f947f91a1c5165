import Foundation
import Logging
import NIOCore
import NIOPosix

/// One server and the transport to it, for `dnsgrpcd query`: the server is written as a `forward` upstream
/// (`IP[:PORT]`, `dns://`, `tls://`, `grpc://`, `https://`, with `#NAME`) with forward's `tls` and `tls_servername`, read by
/// the Corefile parser and reached by the forwarder's own transports, so the client and the daemon accept the
/// same things and speak the same protocols.
public final class SingleExchange: Sendable {
    /// The TLS options of the server: forward's `tls [CERT KEY] [CA]` and `tls_servername`.
    public struct TLSOptions: Sendable {
        /// TLS for a `grpc://` server, which is plaintext otherwise (a `tls://` server always uses TLS).
        public var enabled = false
        public var caFile: String?
        public var certFile: String?
        public var keyFile: String?
        public var serverName: String?

        public init(enabled: Bool = false, caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil,
                    serverName: String? = nil) {
            self.enabled = enabled
            self.caFile = caFile
            self.certFile = certFile
            self.keyFile = keyFile
            self.serverName = serverName
        }

        var asksForTLS: Bool { enabled || caFile != nil || certFile != nil || keyFile != nil || serverName != nil }
    }

    /// A bad server or TLS option, in the words of the Corefile parser.
    public struct InvalidServer: Error, CustomStringConvertible {
        public let description: String
    }

    private let group: MultiThreadedEventLoopGroup
    private let workers: ExchangeWorkers
    private let transport: any UpstreamExchanger
    /// The server as its transport names it (`tls://127.0.0.1:853`), for dig's SERVER line.
    public var label: String { transport.label }

    /// Reads `server` and `tls` as a forward block would, loads the certificates and opens nothing yet.
    public init(server: String, tls: TLSOptions, logger: Logger) throws {
        let forward = try Self.forwardConfiguration(server: server, tls: tls)
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        guard let workers = ExchangeWorkers(count: 1, logger: logger) else {
            try? group.syncShutdownGracefully()
            throw InvalidServer(description: "cannot start the UDP exchange worker: the system gave no eventfd")
        }
        self.workers = workers
        do {
            transport = try UpstreamSetFactory.transport(
                for: forward.upstreams[0], in: forward, options: UpstreamSetFactory.forwardOptions(forward),
                group: group, exchangeWorkers: workers)
        } catch {
            try? group.syncShutdownGracefully()
            throw InvalidServer(description: error.message)
        }
    }

    /// Sends `query` and waits up to `timeout` for the reply whose ID and question match. `proto` matters to
    /// plain DNS only.
    public func exchange(_ query: DNSMessage, over proto: ExchangeProtocol, timeout: Duration) async throws
        -> DNSMessage {
        try await transport.exchange(query, over: proto, deadline: .now() + TimeAmount(timeout)).get()
    }

    /// Closes the connections and stops the threads.
    public func close() async {
        transport.close()
        await workers.close()
        try? await group.shutdownGracefully()
    }

    /// The server as the only upstream of `forward .`, with its TLS options.
    private static func forwardConfiguration(server: String, tls: TLSOptions) throws -> ForwardConfiguration {
        var options: [String] = []
        if tls.asksForTLS {
            options.append((["tls"] + [tls.certFile, tls.keyFile, tls.caFile].compactMap { $0 }.map(quoted))
                .joined(separator: " "))
        }
        if let name = tls.serverName { options.append("tls_servername \(quoted(name))") }
        let block = options.isEmpty ? "" : " {\n" + options.map { "        \($0)\n" }.joined() + "    }"
        let text = ".:0 {\n    forward . \(quoted(server))\(block)\n}\n"
        do {
            let configuration = try ConfigurationLoader.parse(text: text, fileName: "query")
            guard let forward = configuration.servers.first?.forwarders.first, forward.upstreams.count == 1 else {
                throw InvalidServer(description: "server \(server): expected one server address")
            }
            return forward
        } catch let error as ConfigurationError {
            throw InvalidServer(description: "\(error.problem); expected \(error.expected)")
        }
    }

    /// A Corefile token holding `text` as it is.
    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
