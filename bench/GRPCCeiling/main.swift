// The ceiling for gRPC-in benchmarks: gRPC core serving /coredns.dns.DnsService/Query through the same GRPC/
// layer as dnsgrpcd, answering each call from memory (the query echoed as a NOERROR reply) with no forwarding.
// Usage: grpc-ceiling HOST:PORT
import DnsServiceBridge
import Foundation

let address = CommandLine.arguments.dropFirst().first ?? "127.0.0.1:5599"
let server = GRPCServer(methods: [
    DnsServiceMethod.query: { request, responder in
        guard let request, let bytes = try? DnsPacketCodec.decode(request),
              let query = try? DNSMessage(bytes: bytes) else {
            responder.fail(.invalidArgument, "expected a DnsPacket carrying a DNS query")
            return
        }
        responder.reply(DnsPacketCodec.encode(query.errorReply(.noError).bytes))
    },
])
do {
    try server.listen(on: address, security: .insecure)
} catch {
    FileHandle.standardError.write(Data("grpc-ceiling: \(error)\n".utf8))
    exit(1)
}
server.start()
FileHandle.standardError.write(Data("grpc-ceiling: serving on \(address)\n".utf8))
signal(SIGTERM, SIG_DFL)
while true { sleep(3600) }
