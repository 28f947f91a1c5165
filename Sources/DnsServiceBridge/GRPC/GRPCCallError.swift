/// A unary call that did not end with status OK and a message.
public struct GRPCCallError: Error, Hashable, Sendable, CustomStringConvertible {
    public let status: GRPCStatusCode
    public let details: String

    public init(status: GRPCStatusCode, details: String) {
        self.status = status
        self.details = details
    }

    public var description: String { "gRPC call failed with \(status): \(details)" }
}
