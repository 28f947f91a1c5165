// Fitting a response into a client's UDP size (RFC 1035 4.2.1, RFC 2181 9): drop whole trailing records, set TC.
extension DNSMessage {
    /// This reply as a UDP client that sent `query` takes it: within the size the query allows (its EDNS0 size, or
    /// 512 bytes).
    func truncated(forUDPClientOf query: DNSMessage) -> DNSMessage {
        truncated(toFit: query.maxUDPResponseSize)
    }

    /// This message if it fits in `limit` bytes, else a TC copy keeping the question, the answer and authority
    /// records that fit whole, and the OPT record if it fits; never shorter than the 12-byte header.
    ///
    /// Only a suffix of records is dropped, so compression pointers in what is kept still point at kept bytes.
    public func truncated(toFit limit: Int) -> DNSMessage {
        guard bytes.count > limit else {
            return self
        }
        guard questionEnd <= limit else {
            // Not even the question fits; a bare header with TC still tells the client to retry over TCP.
            var bare = header
            bare.isTruncated = true
            bare.questionCount = 0
            bare.answerCount = 0
            bare.authorityCount = 0
            bare.additionalCount = 0
            return DNSMessage(bytes: bare.bytes, header: bare, question: nil, edns: nil, questionEnd: DNSHeader.size)
        }

        var recordEnds: [Int] = []
        recordEnds.reserveCapacity(Int(header.answerCount) + Int(header.authorityCount))
        var optRecord: WireRecord? = nil
        let span = bytes.span
        var walker = RecordWalker(header: header, offset: questionEnd)
        do {
            while let record = try walker.next(in: span) {
                if record.section != .additional {
                    recordEnds.append(record.end)
                } else if record.type == DNSRecordType.opt.rawValue, record.ownerIsRoot, optRecord == nil {
                    optRecord = record
                }
            }
        } catch {
            // Unreachable for a message that parsed; keep the records found before the fault.
        }

        // The OPT record goes first in the budget: it carries the extended RCODE and EDNS0 itself.
        var optBytes: [UInt8] = []
        if let optRecord, let edns {
            // The owner is written as a plain zero: a pointer to a root elsewhere could point at a dropped record.
            let full = 1 + optRecord.end - optRecord.fieldsStart
            if questionEnd + full <= limit {
                optBytes.reserveCapacity(full)
                optBytes.append(0)
                optBytes.append(contentsOf: bytes[optRecord.fieldsStart..<optRecord.end])
            } else if questionEnd + EDNS0.emptyOPTRecordSize <= limit {
                // Its options do not fit, but the EDNS0 parameters and extended RCODE still do.
                edns.appendOPTRecord(to: &optBytes)
            }
        }

        let budget = limit - optBytes.count
        var kept = 0
        while kept < recordEnds.count, recordEnds[kept] <= budget {
            kept += 1
        }
        let keptEnd = kept == 0 ? questionEnd : recordEnds[kept - 1]

        var newHeader = header
        newHeader.isTruncated = true
        newHeader.answerCount = UInt16(min(kept, Int(header.answerCount)))
        newHeader.authorityCount = UInt16(kept - Int(newHeader.answerCount))
        newHeader.additionalCount = optBytes.isEmpty ? 0 : 1

        var newBytes: [UInt8] = []
        newBytes.reserveCapacity(keptEnd + optBytes.count)
        newHeader.append(to: &newBytes)
        newBytes.append(contentsOf: bytes[DNSHeader.size..<keptEnd])
        newBytes.append(contentsOf: optBytes)
        return DNSMessage(
            bytes: newBytes,
            header: newHeader,
            question: question,
            edns: optBytes.isEmpty ? nil : edns,
            questionEnd: questionEnd
        )
    }
}
