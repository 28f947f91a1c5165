import Testing
@testable import DnsServiceBridge

/// The per-query random source: ChaCha20 as RFC 8439 defines it, keyed from the system when not given a key.
@Suite struct ChaChaRandomTests {
    /// RFC 8439 section 2.3.2: key 00 01 .. 1f, nonce 00 00 00 09 00 00 00 4a 00 00 00 00, block counter 1.
    @Test func theBlockFunctionMatchesTheRFC8439TestVector() {
        // Bytes 00 01 02 03 ... as little-endian words: 0x03020100, 0x07060504, ...
        let key: [UInt32] = (0..<8).map { (word: Int) -> UInt32 in
            let first = UInt32(word * 4)
            return first | (first + 1) << 8 | (first + 2) << 16 | (first + 3) << 24
        }
        var generator = ChaChaRandom(key: key, nonce: [0x0900_0000, 0x4a00_0000, 0], counter: 1)
        let words = (0..<16).map { _ in generator.nextWord() }
        #expect(words == [
            0xe4e7_f110, 0x1559_3bd1, 0x1fdd_0f50, 0xc471_20a3,
            0xc7f4_d1c7, 0x0368_c033, 0x9aaa_2204, 0x4e6c_d4c3,
            0x4664_82d2, 0x09aa_9f07, 0x05d7_c214, 0xa202_8bd9,
            0xd19c_12b5, 0xb94e_16de, 0xe883_d0cb, 0x4e3c_50a2,
        ])
    }

    @Test func generatorsKeyedFromTheSystemDrawDifferentStreams() {
        var first = ChaChaRandom()
        var second = ChaChaRandom()
        let a = (0..<8).map { _ in first.next() }
        let b = (0..<8).map { _ in second.next() }
        #expect(a != b)
        #expect(Set(a).count == 8)
    }

    @Test func theStreamGoesOnAcrossBlocksAndRekeys() {
        var generator = ChaChaRandom()
        // Past one key's worth of blocks (8 draws of 64 bits per block): no draw repeats, nothing traps.
        let draws = (0..<(Int(ChaChaRandom.blocksPerKey) * 8 + 64)).map { _ in generator.next() }
        #expect(Set(draws).count == draws.count)
    }

    @Test func uniformDrawsCoverTheirRange() {
        var generator = ChaChaRandom()
        var seen = Set<Int>()
        for _ in 0..<1_000 { seen.insert(Int.random(in: 0..<8, using: &generator)) }
        #expect(seen == Set(0..<8))
    }
}
