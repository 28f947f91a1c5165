/// Where the records of a message sit: what the cache needs to classify a reply and to rewrite its TTLs
/// in place without decoding any record data.
struct RecordLayout: Sendable {
    /// One record other than OPT.
    struct Record: Sendable {
        var section: DNSSection
        var type: DNSRecordType
        /// Offset of the 4-byte TTL field.
        var ttlOffset: Int
        var ttl: UInt32
    }

    /// Every record but the OPT pseudo-record, in message order.
    var records: [Record]
    /// The bytes of the OPT record, when there is one and it is the last record of the message.
    var optRecord: Range<Int>?
    /// Where the last record (or, with none, the question) ends. Bytes after it belong to no record: a record
    /// added to the message goes here, or a parser would read those bytes as the added record.
    var end: Int

    /// The number of records in `section`.
    func count(in section: DNSSection) -> Int {
        records.reduce(0) { $0 + ($1.section == section ? 1 : 0) }
    }

    /// Whether `section` holds a record of `type`.
    func contains(_ type: DNSRecordType, in section: DNSSection) -> Bool {
        records.contains { $0.section == section && $0.type == type }
    }
}

extension DNSMessage {
    /// The layout of the records, or nil when the message has an OPT record that is not its last record
    /// (removing it would move records that later names may point into).
    func recordLayout() -> RecordLayout? {
        let span = bytes.span
        var walker = RecordWalker(header: header, offset: questionEnd)
        var records: [RecordLayout.Record] = []
        var opt: Range<Int>? = nil
        var end = questionEnd
        do {
            while let record = try walker.next(in: span) {
                end = record.end
                if record.section == .additional && record.type == DNSRecordType.opt.rawValue {
                    opt = record.start..<record.end
                    continue
                }
                guard opt == nil else { return nil }
                records.append(RecordLayout.Record(
                    section: record.section, type: DNSRecordType(rawValue: record.type),
                    ttlOffset: record.fieldsStart + 4, ttl: span.uint32(at: record.fieldsStart + 4)))
            }
        } catch {
            return nil
        }
        return RecordLayout(records: records, optRecord: opt, end: end)
    }
}
