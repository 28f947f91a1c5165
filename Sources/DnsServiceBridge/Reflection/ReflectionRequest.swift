/// One `ServerReflectionRequest` (identical in `grpc.reflection.v1` and `v1alpha`):
/// `{ string host = 1; oneof message_request { string file_by_filename = 3; string file_containing_symbol = 4;
/// ExtensionRequest file_containing_extension = 5; string all_extension_numbers_of_type = 6;
/// string list_services = 7; } }`, `ExtensionRequest { string containing_type = 1; int32 extension_number = 2; }`.
struct ReflectionRequest: Hashable, Sendable {
    /// What the client asks (the oneof `message_request`).
    enum Question: Hashable, Sendable {
        case fileByFilename(String)
        case fileContainingSymbol(String)
        case fileContainingExtension(containingType: String, number: Int32)
        case allExtensionNumbersOfType(String)
        case listServices
        /// None of the above: the client set no question, or one newer than this server knows.
        case none
    }

    var host = ""
    var question = Question.none

    /// Reads a request; unknown fields are skipped, and of several questions the last wins, as protobuf merges a
    /// oneof.
    init(_ bytes: [UInt8]) throws(ReflectionRequestError) {
        var reader = ProtobufReader(bytes[...])
        while let (field, value) = try Self.next(&reader) {
            guard (1...7).contains(field), field != 2 else { continue }
            guard case .lengthDelimited(let payload) = value else { throw .wrongType(field) }
            switch field {
            case 1: host = try Self.string(payload, field: field)
            case 3: question = .fileByFilename(try Self.string(payload, field: field))
            case 4: question = .fileContainingSymbol(try Self.string(payload, field: field))
            case 5: question = try Self.extensionRequest(payload)
            case 6: question = .allExtensionNumbersOfType(try Self.string(payload, field: field))
            default:
                _ = try Self.string(payload, field: field)  // its content is not checked, but it is a string
                question = .listServices
            }
        }
    }

    private static func extensionRequest(_ bytes: ArraySlice<UInt8>) throws(ReflectionRequestError) -> Question {
        var reader = ProtobufReader(bytes)
        var type = ""
        var number: Int32 = 0
        while let (field, value) = try next(&reader) {
            switch (field, value) {
            case (1, .lengthDelimited(let payload)): type = try string(payload, field: 5)
            // int32 on the wire is a 64-bit varint; protobuf keeps its low 32 bits.
            case (2, .varint(let raw)): number = Int32(truncatingIfNeeded: raw)
            case (1, _), (2, _): throw .wrongType(5)
            default: continue
            }
        }
        return .fileContainingExtension(containingType: type, number: number)
    }

    private static func next(_ reader: inout ProtobufReader)
        throws(ReflectionRequestError) -> (field: UInt64, value: ProtobufReader.Value)? {
        do { return try reader.next() } catch { throw .notProtobuf(error) }
    }

    /// A proto3 string must be UTF-8.
    private static func string(_ bytes: ArraySlice<UInt8>, field: UInt64) throws(ReflectionRequestError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8(field) }
        return text
    }
}

/// Why a message is not a valid `ServerReflectionRequest`: the stream ends with INVALID_ARGUMENT and this text.
enum ReflectionRequestError: Error, Hashable, Sendable, CustomStringConvertible {
    case notProtobuf(ProtobufWireError)
    case wrongType(UInt64)
    case notUTF8(UInt64)

    private static let fieldNames: [UInt64: String] = [
        1: "host", 3: "file_by_filename", 4: "file_containing_symbol", 5: "file_containing_extension",
        6: "all_extension_numbers_of_type", 7: "list_services",
    ]

    var description: String {
        let prefix = "not a valid grpc.reflection.v1.ServerReflectionRequest: "
        switch self {
        case .notProtobuf(let why): return prefix + "\(why)"
        case .wrongType(let field):
            return prefix + "\(Self.fieldNames[field] ?? "field \(field)") has the wrong wire type; expected "
                + (field == 5 ? "an ExtensionRequest message" : "a string")
        case .notUTF8(let field):
            return prefix + "\(Self.fieldNames[field] ?? "field \(field)") is not UTF-8; expected a string"
        }
    }
}
