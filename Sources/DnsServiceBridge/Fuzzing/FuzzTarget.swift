import NIOCore

/// The inputs hostile clients, upstreams and files control, each with one entry point that runs on it what the daemon
/// runs, and traps when a promise the daemon relies on breaks: libFuzzer drives them (`fuzz/`, `make fuzz`) and the
/// tests replay their corpora (`fuzz/corpus/NAME/`). A crash or a trap is a finding; an input refused is not.
@_spi(Fuzzing) public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A UDP datagram from a client, and the same bytes as an upstream's reply: parsing, FORMERR, truncation.
    case dnsMessage = "dns-message"
    /// A gRPC request message: the DnsPacket decoder (protobuf-c) and the checks on its `msg`.
    case dnsPacket = "dns-packet"
    /// A Corefile: lexer, environment substitution, snippets, parser and every directive's options.
    case corefile
    /// A DNS-over-TCP/TLS byte stream, arriving in pieces: the frame decoder and each message framed.
    case tcpFrames = "tcp-frames"
    /// A gRPC server reflection request message: the request reader and the answer from the served descriptors.
    case reflectionRequest = "reflection-request"

    /// Runs the target on one input.
    public func run(_ input: [UInt8]) {
        switch self {
        case .dnsMessage: Self.dnsMessage(input)
        case .dnsPacket: Self.dnsPacket(input)
        case .corefile: Self.corefile(input)
        case .tcpFrames: Self.tcpFrames(input)
        case .reflectionRequest: Self.reflectionRequest(input)
        }
    }

    /// Counters of their own, so the process-wide ones are not moved by fuzzing.
    private static let counters = ListenerCounters()

    private static func dnsMessage(_ input: [UInt8]) {
        switch DatagramQuery(input, counters: counters) {
        case .query(let query):
            check(query.errorReply(.servFail), answers: query)
            clientSubnet(query)
        case .formErr(let reply):
            expect(reply.header.isResponse && (try? DNSMessage(bytes: reply.bytes)) != nil,
                   "a FORMERR reply that does not parse")
        case .drop:
            break
        }
        // The same bytes from an upstream: what a UDP client would be sent must parse and fit.
        guard let reply = try? DNSMessage(bytes: input) else { return }
        for limit in [12, 100, 512, 1232, 4096] {
            let cut = reply.truncated(toFit: limit)
            expect(cut.bytes.count <= max(limit, DNSHeader.size), "truncated to \(limit) yet \(cut.bytes.count) bytes")
            expect((try? DNSMessage(bytes: cut.bytes)) != nil, "truncated to \(limit), it no longer parses")
            if input.count <= limit { expect(cut.bytes == input, "a message that fits \(limit) was changed") }
        }
        // Its OPT made to mirror a client's, one with EDNS and one without: the bytes say what the message says.
        for udpPayloadSize in [1232, nil] as [UInt16?] {
            let client = DNSMessage.query(name: .root, type: .a, id: 0, udpPayloadSize: udpPayloadSize, dnssecOK: true)
            let mirrored = reply.mirroringEDNS(of: client)
            let parsed = try? DNSMessage(bytes: mirrored.bytes)
            expect(parsed != nil && parsed?.edns == mirrored.edns, "a reply whose mirrored OPT its bytes do not say")
        }
    }

    /// `client_subnet`'s rewrite of a client's query, for an IPv4 client, an IPv6 one and one without an address:
    /// what goes upstream parses and asks what the client asked, carries no ECS option but ours, and the reply to a
    /// client that sent no OPT has none.
    private static func clientSubnet(_ query: DNSMessage) {
        let subnet = MeshConfiguration.ClientSubnet(ipv4Prefix: 24, ipv6Prefix: 56)
        for address in [ClientIP(ipv4: 0xC000_024D), ClientIP(bytes: Array(repeating: 0xAB, count: 16)), nil] {
            let sent = query.withClientSubnet(of: address, subnet)
            guard let parsed = try? DNSMessage(bytes: sent.bytes) else {
                expect(false, "a query with client_subnet applied does not parse")
                continue
            }
            expect(parsed.header.id == query.header.id && parsed.question == query.question,
                   "client_subnet changed the query's ID or question")
            expect(parsed.edns == sent.edns, "a query whose client_subnet OPT its bytes do not say")
            guard sent.bytes != query.bytes else { continue }
            let opt = parsed.recordLayout()?.optRecord
            expect(opt != nil, "a query rewritten by client_subnet has no OPT record last")
            let subnets = opt.map { parsed.ednsOptions(in: $0).filter { $0.code == DNSMessage.clientSubnetOption } }
            expect(subnets?.count == (address == nil ? 0 : 1), "client_subnet left \(subnets?.count ?? 0) ECS options")
            if query.edns == nil {
                let reply = parsed.errorReply(.servFail).mirroringEDNS(of: query)
                expect(reply.edns == nil && (try? DNSMessage(bytes: reply.bytes))?.edns == nil,
                       "the reply to a client without EDNS kept an OPT record")
            }
        }
    }

    /// What every error reply must be: a response to `query` that parses.
    private static func check(_ reply: DNSMessage, answers query: DNSMessage) {
        expect(reply.isAnswer(to: query), "an error reply that does not answer its query")
        expect((try? DNSMessage(bytes: reply.bytes)) != nil, "an error reply that does not parse")
    }

    private static func dnsPacket(_ input: [UInt8]) {
        if let msg = try? DnsPacketCodec.decode(input) {
            expect((try? DnsPacketCodec.decode(DnsPacketCodec.encode(msg))) == msg, "a DnsPacket that does not round-trip")
        }
        if let query = try? GRPCRequestError.query(from: input) {
            check(query.errorReply(.servFail), answers: query)
        }
    }

    private static func corefile(_ input: [UInt8]) {
        // Relative imports and files resolve in a directory that does not exist; nothing in the environment.
        _ = try? ConfigurationLoader.parse(text: String(decoding: input, as: UTF8.self), environment: [:],
                                           workingDirectory: "/nonexistent/dnsgrpcd-fuzz")
    }

    /// The first byte picks the size of the pieces the rest arrives in (1 to 256 bytes).
    private static func tcpFrames(_ input: [UInt8]) {
        guard let first = input.first else { return }
        let piece = Int(first) + 1
        var buffer = ByteBuffer()
        var next = 1  // where the next frame's length prefix is in `input`
        var arrived = 1
        while arrived < input.count {
            let end = min(input.count, arrived + piece)
            buffer.writeBytes(input[arrived..<end])
            arrived = end
            while let frame = DNSFrameDecoder.nextFrame(from: &buffer) {
                let length = Int(input[next]) << 8 | Int(input[next + 1])
                let message = Array(frame.readableBytesView)
                expect(message == Array(input[(next + 2)..<(next + 2 + length)]), "a frame that is not the bytes sent")
                next += 2 + length
                _ = DatagramQuery(message, counters: counters)
            }
        }
        let left = input.count - next
        expect(left == buffer.readableBytes, "the decoder kept \(buffer.readableBytes) bytes, not the \(left) left")
        expect(left < 2 || left < 2 + (Int(input[next]) << 8 | Int(input[next + 1])), "a whole frame was left undecoded")
    }

    /// Bytes that are a request get one response echoing them as `original_request` (field 2); others end the stream
    /// with INVALID_ARGUMENT.
    private static func reflectionRequest(_ input: [UInt8]) {
        switch GRPCReflectionService.respond(to: input, from: GRPCReflectionService.served) {
        case .respond(let replies):
            expect(replies.count == 1, "\(replies.count) responses to one reflection request")
            var reader = ProtobufReader(replies[0][...])
            var echoed: [UInt8]?
            while let (field, value) = (try? reader.next()) ?? nil {
                if field == 2, case .lengthDelimited(let bytes) = value { echoed = Array(bytes) }
            }
            expect(echoed == input, "a reflection response that does not echo its request")
        case .finish(let status, _):
            expect(status == .invalidArgument, "a reflection request ended with \(status)")
        }
    }

    private static func expect(_ condition: Bool, _ finding: @autoclosure () -> String) {
        if !condition { fatalError("fuzz finding: \(finding())") }
    }
}
