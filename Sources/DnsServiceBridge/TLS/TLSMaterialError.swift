/// Why certificate or key files could not be used; each says which file and what was expected.
public enum TLSMaterialError: Error, Hashable, Sendable, CustomStringConvertible {
    case missingFile(path: String, role: String)
    case unreadable(path: String, role: String, reason: String)
    case notPEM(path: String, role: String, expected: String)
    case keyDoesNotMatch(certificate: String, key: String)

    public var description: String {
        switch self {
        case .missingFile(let path, let role):
            return "\(role) file \(path) does not exist"
        case .unreadable(let path, let role, let reason):
            return "cannot read \(role) file \(path): \(reason)"
        case .notPEM(let path, let role, let expected):
            return "\(role) file \(path) is not usable; expected \(expected)"
        case .keyDoesNotMatch(let certificate, let key):
            return "private key \(key) does not belong to certificate \(certificate); expected the key the "
                + "certificate was issued for"
        }
    }
}
