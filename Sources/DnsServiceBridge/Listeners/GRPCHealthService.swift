/// The standard gRPC health service (`grpc.health.v1.Health/Check`), so Kubernetes gRPC probes and meshes can
/// ask the listener itself. The two messages have one field each, so they are read and written by hand:
/// `HealthCheckRequest { string service = 1; }`, `HealthCheckResponse { ServingStatus status = 1; }`.
enum GRPCHealthService {
    /// The method's full name.
    static let checkMethod = "/grpc.health.v1.Health/Check"
    /// Service names this listener answers for: the whole server ("") and the DnsService.
    static let knownServices: Set<String> = ["", "coredns.dns.DnsService"]

    /// `HealthCheckResponse.ServingStatus`.
    enum ServingStatus: UInt8 {
        case serving = 1
        case notServing = 2
    }

    /// Why a request is not a HealthCheckRequest.
    enum RequestError: Error, CustomStringConvertible {
        case truncated
        case badWireType(field: UInt64, wireType: UInt64)
        case serviceNotUTF8

        var description: String {
            switch self {
            case .truncated: "HealthCheckRequest ends inside a field; expected a complete protobuf message"
            case .badWireType(let field, let wireType):
                "HealthCheckRequest field \(field) has wire type \(wireType); expected a valid protobuf wire type"
            case .serviceNotUTF8: "HealthCheckRequest.service is not UTF-8; expected a service name"
            }
        }
    }

    static func check(_ request: [UInt8]?, isServing: Bool, responder: GRPCServerResponder) {
        let service: String
        do {
            service = try serviceName(in: request ?? [])
        } catch {
            BridgeMetrics.grpcStatusReturned("INVALID_ARGUMENT", method: checkMethod)
            responder.fail(.invalidArgument, "\(error)")
            return
        }
        guard knownServices.contains(service) else {
            BridgeMetrics.grpcStatusReturned("NOT_FOUND", method: checkMethod)
            responder.fail(.notFound, "unknown service '\(service)'; this server serves coredns.dns.DnsService")
            return
        }
        BridgeMetrics.grpcStatusReturned("OK", method: checkMethod)
        responder.reply(response(isServing ? .serving : .notServing))
    }

    /// The encoded HealthCheckResponse: field 1, varint.
    static func response(_ status: ServingStatus) -> [UInt8] {
        [0x08, status.rawValue]
    }

    /// HealthCheckRequest.service (the last occurrence wins, as protobuf merges); unknown fields are skipped.
    static func serviceName(in bytes: [UInt8]) throws(RequestError) -> String {
        var reader = Reader(bytes: bytes)
        var service: [UInt8] = []
        while !reader.atEnd {
            let key = try reader.varint()
            let field = key >> 3
            switch key & 7 {
            case 0: _ = try reader.varint()
            case 1: try reader.skip(8)
            case 2:
                let length = try reader.varint()
                guard length <= UInt64(bytes.count) else { throw .truncated }
                let value = try reader.take(Int(length))
                if field == 1 { service = value }
            case 5: try reader.skip(4)
            default: throw .badWireType(field: field, wireType: key & 7)
            }
        }
        guard let name = String(validating: service, as: UTF8.self) else { throw .serviceNotUTF8 }
        return name
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        var atEnd: Bool { offset >= bytes.count }

        mutating func varint() throws(RequestError) -> UInt64 {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 7) {
                guard offset < bytes.count else { throw .truncated }
                let byte = bytes[offset]
                offset += 1
                value |= UInt64(byte & 0x7F) << UInt64(shift)
                if byte & 0x80 == 0 { return value }
            }
            throw .truncated
        }

        mutating func take(_ count: Int) throws(RequestError) -> [UInt8] {
            guard count <= bytes.count - offset else { throw .truncated }
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        }

        mutating func skip(_ count: Int) throws(RequestError) {
            _ = try take(count)
        }
    }
}
