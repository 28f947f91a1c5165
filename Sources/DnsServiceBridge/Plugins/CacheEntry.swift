import NIOCore

/// One cached reply, kept as wire bytes without its OPT record, with the offsets of the TTLs to rewrite, and what
/// prefetch and serve_stale keep about it (its popularity, whether a refresh is under way).
struct CacheEntry: Sendable {
    /// Which of CoreDNS's two caches the reply belongs in.
    enum Kind: String, Sendable {
        /// NOERROR with data, referrals, and empty NOERROR without SOA.
        case success
        /// NXDOMAIN and NODATA with an SOA, and SERVFAIL/NOTIMP (for a short fixed time).
        case denial
    }

    /// How long CoreDNS's cache keeps answers, by default and as set by `cache [TTL]`, `success`, `denial` and
    /// `servfail`.
    struct Limits: Sendable {
        var successMaximum: UInt32 = UInt32(CacheConfiguration.defaultSuccessTTL)
        var denialMaximum: UInt32 = UInt32(CacheConfiguration.defaultDenialTTL)
        /// The least time anything is kept (CoreDNS's MinimalDefaultTTL, used for TTL 0 answers too).
        var successMinimum = UInt32(CacheConfiguration.defaultMinimumTTL)
        var denialMinimum = UInt32(CacheConfiguration.defaultMinimumTTL)
        /// SERVFAIL and NOTIMP (CoreDNS's `servfail`, 5s by default; 0 caches none).
        var serverFailure: UInt32 = 5

        init() {}

        init(_ configuration: CacheConfiguration) {
            successMaximum = UInt32(clamping: configuration.successTTL)
            denialMaximum = UInt32(clamping: configuration.denialTTL)
            successMinimum = UInt32(clamping: configuration.success.minimumTTL)
            denialMinimum = UInt32(clamping: configuration.denial.minimumTTL)
            serverFailure = UInt32(clamping: configuration.servfail.components.seconds)
        }
    }

    let kind: Kind
    private let bytes: [UInt8]
    private let ttlOffsets: [Int]
    private let questionEnd: Int
    /// The TTL every record gets when stored; what is left of it is what a hit sends.
    let duration: UInt32
    let stored: NIODeadline
    /// Hits in the current prefetch window, and the last of them (CoreDNS's frequency of an item).
    var hits = 0
    var lastHit: NIODeadline
    /// A prefetch or a stale entry's refresh is under way: no second one is sent.
    var refreshing = false

    private init(kind: Kind, bytes: [UInt8], ttlOffsets: [Int], questionEnd: Int, duration: UInt32,
                 stored: NIODeadline) {
        self.kind = kind
        self.bytes = bytes
        self.ttlOffsets = ttlOffsets
        self.questionEnd = questionEnd
        self.duration = duration
        self.stored = stored
        lastHit = stored
    }

    /// The entry for `reply` to `query`, or nil for what CoreDNS does not cache: truncated replies, replies that
    /// do not match the question, zone transfers and other opcodes, NXDOMAIN without an SOA, other errors.
    static func make(reply: DNSMessage, to query: DNSMessage, limits: Limits, now: NIODeadline) -> CacheEntry? {
        guard let question = query.question, reply.header.isResponse, reply.question == question,
              !reply.header.isTruncated, reply.header.opcode == 0, question.type != .axfr, question.type != .ixfr,
              let layout = reply.recordLayout()
        else { return nil }
        let answers = layout.count(in: .answer)
        let hasSOA = layout.contains(.soa, in: .authority)
        let kind: Kind
        let duration: UInt32
        switch reply.rcode {
        case .noError:
            kind = answers == 0 && hasSOA ? .denial : .success
            let (minimum, maximum) = kind == .success ? (limits.successMinimum, limits.successMaximum)
                : (limits.denialMinimum, limits.denialMaximum)
            duration = clamp(minimalTTL(layout, maximum: maximum), minimum, maximum)
        case .nxDomain:
            guard answers == 0, hasSOA else { return nil }
            kind = .denial
            duration = clamp(minimalTTL(layout, maximum: limits.denialMaximum), limits.denialMinimum,
                             limits.denialMaximum)
        case .servFail, .notImp:
            kind = .denial
            duration = limits.serverFailure
        default:
            return nil
        }
        guard duration > 0 else { return nil }

        var bytes = reply.bytes
        if let opt = layout.optRecord {
            // OPT is hop-by-hop: each hit gets one made from its own query.
            bytes.removeSubrange(opt)
            bytes.setUInt16(reply.header.additionalCount - 1, at: 10)
        }
        let offsets = layout.records.map(\.ttlOffset)
        for offset in offsets { bytes.setUInt32(duration, at: offset) }
        return CacheEntry(kind: kind, bytes: bytes, ttlOffsets: offsets, questionEnd: reply.questionEnd,
                          duration: duration, stored: now)
    }

    /// Seconds left at `now`; 0 or less means expired.
    func remaining(at now: NIODeadline) -> Int64 {
        Int64(duration) - (now - stored).nanoseconds / 1_000_000_000
    }

    /// The cached reply for `query` (its ID, question bytes, RD/CD and EDNS) with every TTL set to `ttl` (what
    /// is left, the stored duration under `keepttl`, 0 for a stale entry). As in CoreDNS, AA is set (some stub
    /// resolvers drop non-authoritative replies) and AD is cleared unless the query set DO or AD.
    func reply(to query: DNSMessage, ttl: UInt32) -> DNSMessage? {
        guard query.questionEnd == questionEnd, var header = try? DNSHeader(bytes: bytes) else {
            return nil
        }
        var out = bytes
        header.id = query.header.id
        header.recursionDesired = query.header.recursionDesired
        header.checkingDisabled = query.header.checkingDisabled
        header.isAuthoritative = true
        if !(query.edns?.dnssecOK ?? false) && !query.header.authenticData { header.authenticData = false }
        // Same name case-insensitively, so same length: the client gets its own spelling back.
        out.replaceSubrange(DNSHeader.size..<questionEnd, with: query.bytes[DNSHeader.size..<query.questionEnd])
        for offset in ttlOffsets { out.setUInt32(ttl, at: offset) }
        var edns: EDNS0? = nil
        if let queryEDNS = query.edns {
            let replyEDNS = EDNS0(replyingTo: queryEDNS)
            replyEDNS.appendOPTRecord(to: &out)
            header.additionalCount += 1
            edns = replyEDNS
        }
        var headerBytes: [UInt8] = []
        header.append(to: &headerBytes)
        out.replaceSubrange(0..<DNSHeader.size, with: headerBytes)
        return DNSMessage(bytes: out, header: header, question: query.question, edns: edns, questionEnd: questionEnd)
    }

    /// The first reply, as the client gets it when it fills the cache: every TTL set to the cached duration
    /// (CoreDNS does the same, so that the next client does not see the TTL jump).
    static func firstReply(_ reply: DNSMessage, entry: CacheEntry) -> DNSMessage {
        guard let layout = reply.recordLayout() else { return reply }
        var bytes = reply.bytes
        for record in layout.records { bytes.setUInt32(entry.duration, at: record.ttlOffset) }
        return DNSMessage(bytes: bytes, header: reply.header, question: reply.question, edns: reply.edns,
                          questionEnd: reply.questionEnd)
    }

    /// CoreDNS's MinimalTTL: the lowest TTL of any record but OPT, at most `maximum`; 5s when there are none.
    private static func minimalTTL(_ layout: RecordLayout, maximum: UInt32) -> UInt32 {
        guard !layout.records.isEmpty else { return 5 }
        return layout.records.reduce(maximum) { min($0, $1.ttl) }
    }

    private static func clamp(_ value: UInt32, _ low: UInt32, _ high: UInt32) -> UInt32 {
        min(max(value, low), high)
    }
}
