/// Unpredictable numbers for the per-query draws (upstream query IDs, RFC 5452; the random policy's order) at
/// the cost of arithmetic: a ChaCha20 keystream (RFC 8439) keyed from the system generator, rekeyed every
/// 256 KiB of output.
///
/// `SystemRandomNumberGenerator` makes one getrandom(2) system call per 64-bit draw on Linux: one per query for
/// the ID, two more for shuffling three upstreams. That was the whole gap between one upstream and three under
/// dnsperf (`perf stat -e syscalls:sys_enter_getrandom`: 1.0 and 3.0 calls per query).
///
/// A value type with no lock: each user keeps its own, behind the lock or event loop that already guards it.
struct ChaChaRandom: RandomNumberGenerator {
    /// Blocks (64 bytes each) drawn under one key before a fresh key comes from the system.
    static let blocksPerKey: UInt32 = 4096

    private var state: [UInt32]
    private var block: [UInt32] = Array(repeating: 0, count: 16)
    /// The next unused word of `block`; 16 when it is used up.
    private var used = 16
    /// False for a fixed key (the test vectors), which must stay reproducible.
    private let rekeys: Bool

    /// A generator keyed from the system's random source.
    init() {
        state = Self.constants + Array(repeating: 0, count: 12)
        rekeys = true
        rekey()
    }

    /// A generator with a fixed key, nonce and first block counter (RFC 8439's test vectors); never rekeyed.
    init(key: [UInt32], nonce: [UInt32], counter: UInt32) {
        precondition(key.count == 8 && nonce.count == 3, "ChaCha20 takes a 256-bit key and a 96-bit nonce")
        state = Self.constants + key + [counter] + nonce
        rekeys = false
    }

    mutating func next() -> UInt64 {
        let low = nextWord()
        return UInt64(nextWord()) << 32 | UInt64(low)
    }

    /// The next 32 bits of the keystream, little-endian words as RFC 8439 serialises them.
    mutating func nextWord() -> UInt32 {
        if used == 16 { refill() }
        defer { used += 1 }
        return block[used]
    }

    /// "expand 32-byte k"
    private static let constants: [UInt32] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]

    /// A fresh key and nonce from the system (words 4-11 and 13-15), and the block counter (word 12) back to 0.
    private mutating func rekey() {
        var system = SystemRandomNumberGenerator()
        for index in stride(from: 4, to: 16, by: 2) {
            let bits = system.next()
            state[index] = UInt32(truncatingIfNeeded: bits)
            state[index + 1] = UInt32(truncatingIfNeeded: bits >> 32)
        }
        state[12] = 0
    }

    private mutating func refill() {
        block = Self.chaCha20Block(state)
        used = 0
        state[12] &+= 1
        if rekeys && state[12] >= Self.blocksPerKey { rekey() }
    }

    /// One ChaCha20 block: 20 rounds over the state, then the state added word by word.
    static func chaCha20Block(_ input: [UInt32]) -> [UInt32] {
        var x = input
        @inline(__always) func quarterRound(_ a: Int, _ b: Int, _ c: Int, _ d: Int) {
            x[a] &+= x[b]; x[d] ^= x[a]; x[d] = x[d] << 16 | x[d] >> 16
            x[c] &+= x[d]; x[b] ^= x[c]; x[b] = x[b] << 12 | x[b] >> 20
            x[a] &+= x[b]; x[d] ^= x[a]; x[d] = x[d] << 8 | x[d] >> 24
            x[c] &+= x[d]; x[b] ^= x[c]; x[b] = x[b] << 7 | x[b] >> 25
        }
        for _ in 0..<10 {
            quarterRound(0, 4, 8, 12)
            quarterRound(1, 5, 9, 13)
            quarterRound(2, 6, 10, 14)
            quarterRound(3, 7, 11, 15)
            quarterRound(0, 5, 10, 15)
            quarterRound(1, 6, 11, 12)
            quarterRound(2, 7, 8, 13)
            quarterRound(3, 4, 9, 14)
        }
        for index in 0..<16 { x[index] &+= input[index] }
        return x
    }
}
