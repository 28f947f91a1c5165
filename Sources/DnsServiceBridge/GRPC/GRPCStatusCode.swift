import CGRPC

/// A gRPC status code (the numbers are fixed by the gRPC protocol).
public struct GRPCStatusCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let ok = GRPCStatusCode(rawValue: 0)
    public static let cancelled = GRPCStatusCode(rawValue: 1)
    public static let unknown = GRPCStatusCode(rawValue: 2)
    public static let invalidArgument = GRPCStatusCode(rawValue: 3)
    public static let deadlineExceeded = GRPCStatusCode(rawValue: 4)
    public static let notFound = GRPCStatusCode(rawValue: 5)
    public static let resourceExhausted = GRPCStatusCode(rawValue: 8)
    public static let unimplemented = GRPCStatusCode(rawValue: 12)
    public static let `internal` = GRPCStatusCode(rawValue: 13)
    public static let unavailable = GRPCStatusCode(rawValue: 14)

    private static let names: [Int32: String] = [
        0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
        6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION",
        10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE",
        15: "DATA_LOSS", 16: "UNAUTHENTICATED",
    ]

    public var description: String { Self.names[rawValue] ?? "CODE_\(rawValue)" }

    var cValue: grpc_status_code { grpc_status_code(rawValue: rawValue) }
}
