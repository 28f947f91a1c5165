/// What CoreDNS's cache keys an answer on: the name (case-insensitively), type, class, and the DO and CD bits,
/// since they change what an upstream puts in the reply.
struct CacheKey: Hashable, Sendable {
    var name: DNSName
    var type: DNSRecordType
    var qclass: UInt16
    var dnssecOK: Bool
    var checkingDisabled: Bool

    init(_ query: DNSMessage, question: DNSQuestion) {
        name = question.name
        type = question.type
        qclass = question.qclass
        dnssecOK = query.edns?.dnssecOK ?? false
        checkingDisabled = query.header.checkingDisabled
    }
}
