import Crypto
import Foundation

/// The Corefile's SHA-512 in lowercase hex, the fingerprint CoreDNS's reload plugin keeps and logs: a reload
/// happens only when it changes.
enum CorefileFingerprint {
    static func hex(_ content: Data) -> String {
        SHA512.hash(data: content).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The fingerprint of the file, or nil when it cannot be read (a reload then finds the error).
    static func read(_ file: String) -> String? {
        FileManager.default.contents(atPath: file).map(hex)
    }
}
