import Testing
@testable import DnsServiceBridge

/// The reflection service's answers, request bytes in and response bytes out, as a client sees them.
@Suite struct GRPCReflectionServiceTests {
    private let index = GRPCReflectionService.served

    /// A ServerReflectionRequest: host (field 1) and one question field.
    private func request(host: String = "", _ field: UInt64, _ text: String) -> [UInt8] {
        var writer = ProtobufWriter()
        if !host.isEmpty { writer.string(1, host) }
        writer.string(field, text)
        return writer.bytes
    }

    /// A response's fields: valid_host, original_request and the answer's field number and bytes.
    private struct Response {
        var host = ""
        var original: [UInt8] = []
        var answerField: UInt64 = 0
        var answer: [UInt8] = []
    }

    private func response(to bytes: [UInt8]) throws -> Response {
        guard case .respond(let replies) = GRPCReflectionService.respond(to: bytes, from: index), replies.count == 1
        else { throw ResponseMissing() }
        var reader = ProtobufReader(replies[0][...])
        var response = Response()
        while let (field, value) = try reader.next() {
            guard case .lengthDelimited(let payload) = value else { continue }
            switch field {
            case 1: response.host = String(decoding: payload, as: UTF8.self)
            case 2: response.original = Array(payload)
            default:
                response.answerField = field
                response.answer = Array(payload)
            }
        }
        return response
    }

    private struct ResponseMissing: Error {}

    /// Every length-delimited field `field` of a message, as bytes.
    private func repeated(_ field: UInt64, in bytes: [UInt8]) throws -> [[UInt8]] {
        var reader = ProtobufReader(bytes[...])
        var values: [[UInt8]] = []
        while let (number, value) = try reader.next() {
            if number == field, case .lengthDelimited(let payload) = value { values.append(Array(payload)) }
        }
        return values
    }

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// error_response: (error_code, error_message).
    private func error(_ response: Response) throws -> (Int32, String) {
        #expect(response.answerField == 7)
        var reader = ProtobufReader(response.answer[...])
        var code: Int32 = 0
        var message = ""
        while let (field, value) = try reader.next() {
            switch (field, value) {
            case (1, .varint(let raw)): code = Int32(truncatingIfNeeded: raw)
            case (2, .lengthDelimited(let payload)): message = text(Array(payload))
            default: break
            }
        }
        return (code, message)
    }

    @Test func theGeneratedDescriptorsParseAndDeclareWhatTheListenerServes() throws {
        let parsed = try ProtoFileIndex(files: ServedProtoFiles.all)
        #expect(parsed.services == ["coredns.dns.DnsService", "grpc.health.v1.Health",
                                    "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"])
        #expect(Set(parsed.files.keys) == ["dns.proto", "grpc/health/v1/health.proto",
                                           "grpc/reflection/v1/reflection.proto",
                                           "grpc/reflection/v1alpha/reflection.proto"])
        #expect(parsed.symbols["coredns.dns.DnsService.Query"] == "dns.proto")
        #expect(parsed.symbols["coredns.dns.DnsPacket.msg"] == "dns.proto")
        // Enum values are scoped beside their enum, as protobuf's C++ scoping has it.
        #expect(parsed.symbols["grpc.health.v1.HealthCheckResponse.SERVING"] == "grpc/health/v1/health.proto")
        #expect(parsed.symbols["grpc.reflection.v1alpha.ServerReflectionRequest.list_services"]
            == "grpc/reflection/v1alpha/reflection.proto")
        // The index the service uses is that one, not the empty fallback.
        #expect(index.services == parsed.services)
        // The names DnsServiceMethod and GRPCReflectionService register are the ones described.
        for method in [DnsServiceMethod.query] + GRPCReflectionService.methods {
            let parts = method.dropFirst().split(separator: "/")
            #expect(parsed.symbols["\(parts[0]).\(parts[1])"] != nil, "\(method)")
        }
    }

    @Test func listServicesNamesEveryServiceAndEchoesTheRequest() throws {
        let bytes = request(host: "dns.example", 7, "*")
        let response = try response(to: bytes)
        #expect(response.host == "dns.example")
        #expect(response.original == bytes)
        #expect(response.answerField == 6)
        let names = try repeated(1, in: response.answer).map { try repeated(1, in: $0).map(text) }
        #expect(names == [["coredns.dns.DnsService"], ["grpc.health.v1.Health"],
                          ["grpc.reflection.v1.ServerReflection"], ["grpc.reflection.v1alpha.ServerReflection"]])
    }

    @Test func theServiceItsMethodAndItsMessageAllGiveDnsProto() throws {
        for symbol in ["coredns.dns.DnsService", "coredns.dns.DnsService.Query", "coredns.dns.DnsPacket"] {
            let response = try response(to: request(4, symbol))
            #expect(response.answerField == 4, "\(symbol)")
            #expect(try repeated(1, in: response.answer) == [ServedProtoFiles.dns], "\(symbol)")
        }
        let byName = try response(to: request(3, "grpc/health/v1/health.proto"))
        #expect(try repeated(1, in: byName.answer) == [ServedProtoFiles.health])
    }

    @Test func unknownSymbolsAndFilesGetNotFoundAndTheStreamGoesOn() throws {
        let symbol = try error(try response(to: request(4, "coredns.dns.NoSuch")))
        #expect(symbol.0 == 5)
        #expect(symbol.1.hasPrefix("symbol 'coredns.dns.NoSuch' is not declared in any file served here"))
        let file = try error(try response(to: request(3, "google/protobuf/empty.proto")))
        #expect(file.0 == 5)
        #expect(file.1 == "file 'google/protobuf/empty.proto' is not served here; expected one of dns.proto, "
            + "grpc/health/v1/health.proto, grpc/reflection/v1/reflection.proto, "
            + "grpc/reflection/v1alpha/reflection.proto")
    }

    @Test func extensionsThereAreNone() throws {
        var writer = ProtobufWriter()
        writer.message(5) { $0.string(1, "coredns.dns.DnsPacket"); $0.int32(2, 100) }
        let byExtension = try error(try response(to: writer.bytes))
        #expect(byExtension.0 == 5)
        let known = try response(to: request(6, "coredns.dns.DnsPacket"))
        #expect(known.answerField == 5)
        #expect(try repeated(1, in: known.answer).map(text) == ["coredns.dns.DnsPacket"])
        #expect(try error(try response(to: request(6, "coredns.dns.DnsService"))).0 == 5)
    }

    @Test func aRequestWithNoQuestionGetsUnimplementedAndTheStreamGoesOn() throws {
        let empty = try error(try response(to: []))
        #expect(empty.0 == 12)
        let unknownField = try error(try response(to: [0x42, 1, 0x41]))  // field 8, a question newer than ours
        #expect(unknownField.0 == 12)
    }

    @Test func bytesThatAreNotARequestEndTheStreamWithInvalidArgument() {
        let cases: [([UInt8], String)] = [
            ([0x22, 9, 0x41], "the message ends inside a field; expected complete protobuf fields"),
            ([0x20, 1], "file_containing_symbol has the wrong wire type; expected a string"),
            ([0x22, 2, 0xC3, 0x28], "file_containing_symbol is not UTF-8; expected a string"),
            ([0x2A, 2, 0x10, 0xFF], "the message ends inside a field; expected complete protobuf fields"),
            ([0x2A, 2, 0x08, 1], "file_containing_extension has the wrong wire type; expected an ExtensionRequest "
                + "message"),
            ([0x0B], "field 1 has wire type 3; expected 0, 1, 2 or 5"),
        ]
        for (bytes, why) in cases {
            #expect(GRPCReflectionService.respond(to: bytes, from: index)
                == .finish(.invalidArgument, "not a valid grpc.reflection.v1.ServerReflectionRequest: " + why))
        }
    }

    @Test func ofSeveralQuestionsTheLastWins() throws {
        let bytes = request(4, "coredns.dns.NoSuch") + request(7, "")
        #expect(try response(to: bytes).answerField == 6)
        #expect(try ReflectionRequest(bytes).question == .listServices)
    }
}
