import Foundation
import Testing
@_spi(Fuzzing) @testable import DnsServiceBridge

/// Every input of the fuzz corpora (the seeds and what `make fuzz` kept), run again through its target with no
/// sanitizer: a finding that was fixed stays fixed. A target traps on a broken promise, which fails the run.
@Suite struct FuzzCorpusReplayTests {
    private static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz/corpus")

    @Test(arguments: FuzzTarget.allCases)
    func corpusReplays(_ target: FuzzTarget) throws {
        let directory = Self.corpus.appendingPathComponent(target.rawValue)
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
        #expect(files.count >= 5, "the \(target.rawValue) corpus at \(directory.path) is (nearly) empty")
        for file in files {
            target.run(Array(try Data(contentsOf: file)))
        }
    }
}
