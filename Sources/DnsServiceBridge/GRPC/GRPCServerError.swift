/// Why a gRPC listener could not be set up.
public enum GRPCServerError: Error, Hashable, Sendable, CustomStringConvertible {
    case outOfMemory
    case cannotListen(address: String)
    case alreadyStarted

    public var description: String {
        switch self {
        case .outOfMemory:
            return "gRPC core could not allocate a call"
        case .cannotListen(let address):
            return "cannot listen for gRPC on \(address); expected a free HOST:PORT this process may bind "
                + "(and, for TLS, a matching certificate and key)"
        case .alreadyStarted:
            return "gRPC listen addresses must be added before the server starts"
        }
    }
}
