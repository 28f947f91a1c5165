/// What the server answers one reflection request with (the oneof `message_response`).
enum ReflectionAnswer: Hashable, Sendable {
    /// `file_descriptor_response`: serialized FileDescriptorProtos, a file before the files it imports.
    case files([[UInt8]])
    /// `all_extension_numbers_response`.
    case extensionNumbers(baseType: String, numbers: [Int32])
    /// `list_services_response`: fully-qualified service names.
    case services([String])
    /// `error_response`: a gRPC status code and why; the stream goes on.
    case error(GRPCStatusCode, String)
}

/// Writes one `ServerReflectionResponse` (identical in `grpc.reflection.v1` and `v1alpha`): `string valid_host = 1;
/// ServerReflectionRequest original_request = 2;` then the answer in field 4 (`FileDescriptorResponse { repeated
/// bytes file_descriptor_proto = 1; }`), 5 (`ExtensionNumberResponse { string base_type_name = 1; repeated int32
/// extension_number = 2; }`), 6 (`ListServiceResponse { repeated ServiceResponse service = 1; }`,
/// `ServiceResponse { string name = 1; }`) or 7 (`ErrorResponse { int32 error_code = 1; string error_message = 2; }`).
enum ReflectionResponse {
    /// The response to `request` (its bytes, echoed as `original_request` as they came: the client's own message,
    /// unknown fields and all).
    static func encode(host: String, originalRequest: [UInt8], answer: ReflectionAnswer) -> [UInt8] {
        var writer = ProtobufWriter()
        if !host.isEmpty { writer.string(1, host) }
        writer.bytes(2, originalRequest)
        switch answer {
        case .files(let files):
            writer.message(4) { response in files.forEach { response.bytes(1, $0) } }
        case .extensionNumbers(let baseType, let numbers):
            writer.message(5) { response in
                response.string(1, baseType)
                numbers.forEach { response.int32(2, $0) }
            }
        case .services(let names):
            writer.message(6) { response in
                for name in names { response.message(1) { $0.string(1, name) } }
            }
        case .error(let status, let message):
            writer.message(7) { response in
                response.int32(1, status.rawValue)
                response.string(2, message)
            }
        }
        return writer.bytes
    }
}
