import Foundation
import Testing
@testable import DnsServiceBridge

@Suite struct CorefileFingerprintTests {
    // FIPS 180-4 examples, checked against coreutils sha512sum on this machine.
    @Test func knownDigests() {
        #expect(CorefileFingerprint.hex(Data("abc".utf8))
            == "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")
        #expect(CorefileFingerprint.hex(Data()) == "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
            + "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")
    }

    @Test func readsTheFileOrGivesNil() throws {
        let file = FileManager.default.temporaryDirectory
            .appendingPathComponent("fingerprint-\(UInt32.random(in: 0...UInt32.max))")
        try Data("abc".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        #expect(CorefileFingerprint.read(file.path) == CorefileFingerprint.hex(Data("abc".utf8)))
        #expect(CorefileFingerprint.read(file.path + ".missing") == nil)
    }
}
