// Moving records within a message (loadbalance): the records are read with their names written out, then written
// again in the new order. A name that points into the header and question keeps its pointer (those bytes do not
// move); a name that points into a record is written out in full, since that record may move.
extension DNSMessage {
    /// One record as bytes that stay valid wherever it is written.
    struct MovableRecord {
        let type: DNSRecordType
        let bytes: [UInt8]
    }

    /// Types whose data holds names that servers compress (RFC 3597 section 4), with where the names are: after
    /// `skip` bytes, `names` names, then the rest as it is. Data of other types is never compressed.
    private static let compressedNames: [DNSRecordType: (skip: Int, names: Int)] = [
        .ns: (0, 1), .cname: (0, 1), .ptr: (0, 1), .dname: (0, 1), .mx: (2, 1), .soa: (0, 2),
        DNSRecordType(rawValue: 3): (0, 1), DNSRecordType(rawValue: 4): (0, 1), DNSRecordType(rawValue: 7): (0, 1),
        DNSRecordType(rawValue: 8): (0, 1), DNSRecordType(rawValue: 9): (0, 1), DNSRecordType(rawValue: 14): (0, 2),
        .srv: (6, 1), DNSRecordType(rawValue: 17): (0, 2), DNSRecordType(rawValue: 18): (2, 1),
        DNSRecordType(rawValue: 21): (2, 1), DNSRecordType(rawValue: 26): (2, 2), DNSRecordType(rawValue: 36): (2, 1),
    ]

    /// The records of each section (answer, authority, additional), OPT included; nil when the message does not
    /// walk cleanly.
    func movableRecords() -> [[MovableRecord]]? {
        var sections: [[MovableRecord]] = [[], [], []]
        var walker = RecordWalker(header: header, offset: questionEnd)
        do {
            while let record = try walker.next(in: bytes.span) {
                var out: [UInt8] = []
                out.reserveCapacity(record.end - record.start + 16)
                guard appendName(at: record.start, to: &out) != nil else { return nil }
                let type = DNSRecordType(rawValue: record.type)
                let dataStart = record.fieldsStart + 10
                out += bytes[record.fieldsStart..<dataStart]
                let lengthAt = out.count - 2
                var data: [UInt8] = []
                if let layout = Self.compressedNames[type] {
                    guard dataStart + layout.skip <= record.end else { return nil }
                    data += bytes[dataStart..<(dataStart + layout.skip)]
                    var offset = dataStart + layout.skip
                    for _ in 0..<layout.names {
                        guard offset < record.end, let end = appendName(at: offset, to: &data), end <= record.end
                        else { return nil }
                        offset = end
                    }
                    data += bytes[offset..<record.end]
                } else {
                    data += bytes[dataStart..<record.end]
                }
                guard data.count <= Int(UInt16.max) else { return nil }
                out.setUInt16(UInt16(data.count), at: lengthAt)
                sections[record.section.rawValue - 1].append(MovableRecord(type: type, bytes: out + data))
            }
        } catch {
            return nil
        }
        return sections
    }

    /// This message with its record sections replaced by `sections` (in order), header and question kept.
    func withRecords(_ sections: [[MovableRecord]]) -> DNSMessage? {
        var out = Array(bytes[0..<questionEnd])
        for section in sections { for record in section { out += record.bytes } }
        guard out.count <= Self.maxSize else { return nil }
        return try? DNSMessage(bytes: out)
    }

    /// Appends the name at `offset`: its labels up to a pointer into the header and question, then that pointer;
    /// a pointer anywhere else is followed and the rest written out. Returns the offset after the name as written
    /// in the message, or nil when it does not parse.
    private func appendName(at offset: Int, to out: inout [UInt8]) -> Int? {
        var position = offset
        while position < bytes.count {
            let length = Int(bytes[position])
            if length == 0 {
                out.append(0)
                return position + 1
            }
            if length & 0xC0 == 0xC0 {
                guard position + 1 < bytes.count else { return nil }
                let target = (length & 0x3F) << 8 | Int(bytes[position + 1])
                if target < questionEnd {
                    out += bytes[position...(position + 1)]
                } else {
                    guard let rest = try? WireNameScanner.readName(bytes, at: target) else { return nil }
                    out += rest.name.wireBytes
                }
                return position + 2
            }
            guard length < 64, position + 1 + length <= bytes.count else { return nil }
            out += bytes[position...(position + length)]
            position += 1 + length
        }
        return nil
    }
}
