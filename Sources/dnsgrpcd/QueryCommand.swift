import ArgumentParser
import DnsServiceBridge
import Foundation
import Logging

/// `dnsgrpcd query`: a dig-like client over the daemon's own transports (plain DNS over UDP or TCP, DNS over TLS,
/// the gRPC DnsService) with forward's TLS options.
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dnsgrpcd query",
        abstract: "Send one DNS query over UDP, TCP, TLS, gRPC or HTTPS and print the reply as dig does.",
        discussion: """
            The server is written as a forward upstream: IP[:PORT] or dns://IP[:PORT] (UDP, then TCP when the \
            reply is truncated), tls://IP[:PORT][#NAME] (DNS over TLS), grpc://IP[:PORT][#NAME] (gRPC \
            DnsService, plaintext unless a TLS option is given), https://IP[:PORT][/PATH][#NAME] (DNS over HTTPS, \
            HTTP/2). dig's forms work too: @SERVER, +tcp, +dnssec, \
            +bufsize=N, +timeout=SECONDS, +norecurse.
              dnsgrpcd query @127.0.0.1:5353 example.org A
              dnsgrpcd query @grpc://127.0.0.1:5553 --tls-ca certs/ca.pem --tls-servername localhost example.org
            Exit status: 0 for a NOERROR reply, 1 for a reply with another status (NXDOMAIN, SERVFAIL, ...), \
            9 when no reply came (timeout, refused connection, TLS or gRPC failure), 64 for bad arguments.
            """)

    @Option(help: "The server (default 127.0.0.1:53).")
    var server = "127.0.0.1:53"

    @Argument(help: "The name to ask about.")
    var name: String

    @Argument(help: "The record type (A, AAAA, MX, TXT, TYPE65, ...).")
    var type = "A"

    @Flag(help: "Plain DNS over TCP instead of UDP.")
    var tcp = false

    @Option(help: "The EDNS UDP payload size to advertise (512-65535; 0 for no EDNS).")
    var bufsize = 1232

    @Flag(help: "Set the DO bit (DNSSEC OK).")
    var dnssec = false

    @Flag(help: "Clear the RD bit (no recursion desired).")
    var noRecurse = false

    @Option(help: "How long to wait for the reply, as seconds or a Go duration (default 5s).")
    var timeout = "5s"

    @Flag(help: "TLS to a grpc:// server, verified with the system's CAs (tls:// always uses TLS).")
    var tls = false

    @Option(name: .customLong("tls-ca"), help: "The CA bundle that verifies the server (TLS).")
    var tlsCA: String?

    @Option(name: .customLong("tls-cert"), help: "A client certificate (with --tls-key): mutual TLS.")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "The client certificate's private key.")
    var tlsKey: String?

    @Option(name: .customLong("tls-servername"), help: "The server name to send (SNI) and verify.")
    var tlsServerName: String?

    /// dig's status for "no reply came" (its "connection timed out; no servers could be reached").
    static let noReply: Int32 = 9

    func validate() throws {
        guard (tlsCert == nil) == (tlsKey == nil) else {
            throw ValidationError("--tls-cert and --tls-key go together")
        }
        guard bufsize == 0 || (512...65535).contains(bufsize) else {
            throw ValidationError("--bufsize \(bufsize): expected 0 or 512 to 65535")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .error
            return handler
        }
        let logger = Logger(label: "dnsgrpcd-query")
        guard let recordType = DNSRecordType(mnemonic: type) else {
            throw ValidationError("type \(type): expected a record type such as A, AAAA, MX, TXT or TYPE65")
        }
        let qname: DNSName
        do { qname = try DNSName(name) } catch { throw ValidationError("name \(name): \(error)") }
        let wait = try Self.duration(timeout)
        let client: SingleExchange
        do {
            client = try SingleExchange(server: server, tls: SingleExchange.TLSOptions(
                enabled: tls, caFile: tlsCA, certFile: tlsCert, keyFile: tlsKey, serverName: tlsServerName),
                logger: logger)
        } catch {
            throw ValidationError("\(error)")
        }
        let query = DNSMessage.query(name: qname, type: recordType, id: UInt16.random(in: .min ... .max),
                                     recursionDesired: !noRecurse,
                                     udpPayloadSize: bufsize == 0 ? nil : UInt16(bufsize), dnssecOK: dnssec)
        let outcome = await Self.ask(client, query, tcp: tcp, timeout: wait)
        await client.close()
        switch outcome {
        case .success(let (reply, elapsed, proto)):
            print("; <<>> dnsgrpcd \(BuildInfo.version) query <<>> \(name) \(recordType)")
            print(";; Got answer:")
            print(reply.digText)
            print(";; Query time: \(elapsed.milliseconds) msec")
            print(";; SERVER: \(client.label) (\(proto))")
            print(";; MSG SIZE  rcvd: \(reply.bytes.count)")
            if reply.rcode != .noError { throw ExitCode(1) }
        case .failure(let error):
            FileHandle.standardError.write(Data(";; no reply from \(client.label): \(error)\n".utf8))
            throw ExitCode(Self.noReply)
        }
    }

    /// One exchange, and over TCP again when a UDP reply comes back truncated (as dig does).
    private static func ask(_ client: SingleExchange, _ query: DNSMessage, tcp: Bool, timeout: Duration) async
        -> Result<(DNSMessage, Duration, String), any Error> {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            var proto: ExchangeProtocol = tcp ? .tcp : .udp
            var reply = try await client.exchange(query, over: proto, timeout: timeout)
            if reply.header.isTruncated && proto == .udp && client.label.firstRange(of: "://") == nil {
                print(";; Truncated, retrying in TCP mode.")
                proto = .tcp
                reply = try await client.exchange(query, over: proto, timeout: timeout)
            }
            let shown = client.label.hasPrefix("tls://") ? "TLS" : client.label.hasPrefix("grpc://") ? "gRPC"
                : client.label.hasPrefix("https://") ? "HTTPS" : proto == .tcp ? "TCP" : "UDP"
            return .success((reply, clock.now - start, shown))
        } catch {
            return .failure(error)
        }
    }

    private static func duration(_ text: String) throws -> Duration {
        if let seconds = Double(text), seconds > 0 { return .milliseconds(Int64(seconds * 1000)) }
        guard let duration = GoDuration.parse(text), duration > .zero else {
            throw ValidationError("--timeout \(text): expected seconds or a duration such as 500ms or 2s")
        }
        return duration
    }
}
