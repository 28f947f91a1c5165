import NIOCore
import Synchronization
@testable import DnsServiceBridge

/// One record of a reply, decoded far enough to assert on.
struct DecodedRecord: Equatable, CustomStringConvertible {
    var section: DNSSection
    var name: String
    var type: DNSRecordType
    var ttl: UInt32
    var data: [UInt8]

    var description: String { "\(section) \(name) \(ttl) \(type) \(data)" }
}

enum PluginTestSupport {
    /// The records of `message`, OPT included, with owner names decompressed; fails the walk on malformed input.
    static func records(_ message: DNSMessage) throws -> [DecodedRecord] {
        let bytes = message.bytes
        let span = bytes.span
        var walker = RecordWalker(header: message.header, offset: message.questionEnd)
        var result: [DecodedRecord] = []
        while let record = try walker.next(in: span) {
            let (name, _) = try WireNameScanner.readName(bytes, at: record.start)
            result.append(DecodedRecord(
                section: record.section, name: name.description, type: DNSRecordType(rawValue: record.type),
                ttl: span.uint32(at: record.fieldsStart + 4), data: Array(bytes[(record.fieldsStart + 10)..<record.end])))
        }
        return result
    }

    /// A query as dig sends it, re-parsed so it is exactly what a listener hands on.
    static func query(_ name: String, _ type: DNSRecordType, id: UInt16 = 0x1234, edns: UInt16? = nil,
                      dnssecOK: Bool = false) throws -> DNSMessage {
        let built = DNSMessage.query(name: try DNSName(name), type: type, id: id, udpPayloadSize: edns)
        var bytes = built.bytes
        if dnssecOK, edns != nil { bytes[bytes.count - 4] |= 0x80 }  // DO: the top bit of the OPT TTL's flags
        return try DNSMessage(bytes: bytes)
    }

    /// A reply to `query` with `rcode`, the given records and, when the query had EDNS, an OPT record.
    static func reply(to query: DNSMessage, rcode: DNSResponseCode = .noError, answers: [DNSResourceRecord] = [],
                      authority: [DNSResourceRecord] = [], truncated: Bool = false) throws -> DNSMessage {
        var builder = DNSResponseBuilder(replyingTo: query, rcode: rcode, authoritative: false)
        builder.append(contentsOf: answers, to: .answer)
        builder.append(contentsOf: authority, to: .authority)
        builder.header.isTruncated = truncated
        builder.header.recursionAvailable = true
        return try DNSMessage(bytes: builder.build().bytes)
    }

    /// An SOA record for `zone` with the given TTL (names uncompressed, counters arbitrary).
    static func soa(_ zone: String, ttl: UInt32) throws -> DNSResourceRecord {
        let mname = try DNSName("ns1." + zone)
        let rname = try DNSName("hostmaster." + zone)
        var data = mname.wireBytes + rname.wireBytes
        for value: UInt32 in [2026112101, 3600, 600, 86400, 300] {
            data += [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
        }
        return DNSResourceRecord(name: try DNSName(zone), type: .soa, ttl: ttl, data: data)
    }
}

/// A QueryHandler that answers from a closure and counts calls; the "next plugin" in plugin tests.
final class RecordingHandler: QueryHandler {
    private let answer: @Sendable (DNSMessage) throws -> DNSMessage
    private let callCount = Atomic<Int>(0)

    var calls: Int { callCount.load(ordering: .relaxed) }

    init(_ answer: @escaping @Sendable (DNSMessage) throws -> DNSMessage) {
        self.answer = answer
    }

    func handle(_ query: DNSMessage, context: QueryContext) -> EventLoopFuture<DNSMessage> {
        callCount.add(1, ordering: .relaxed)
        do {
            return context.eventLoop.makeSucceededFuture(try answer(query))
        } catch {
            return context.eventLoop.makeSucceededFuture(query.errorReply(.servFail))
        }
    }
}

extension QueryStep {
    /// The step as the engine runs it, with `next` standing for everything after it: its own answer, or the next
    /// handler's reply as the step passes it on.
    func handle(_ query: DNSMessage, context: QueryContext, next: any QueryHandler) -> EventLoopFuture<DNSMessage> {
        if let reply = answer(query, from: context.asker) { return context.eventLoop.makeSucceededFuture(reply) }
        let outcome = QueryOutcome(client: context.asker, received: .now(), failure: nil)
        return next.handle(query, context: context).map { reply in completed(query, reply: reply, outcome) }
    }
}
