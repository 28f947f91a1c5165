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
    /// Only a suffix of records is dropped, so compression pointers in what is kept still point at kept bytes (a name
    /// that does not is dealt with below).
    public func truncated(toFit limit: Int) -> DNSMessage {
        guard bytes.count > limit else {
            return self
        }
        guard questionEnd <= limit else {
            // Not even the question fits; a bare header with TC still tells the client to retry over TCP.
            return bareTruncated
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

        // What is kept is parsed again. A name cannot run on past the records kept (`WireNameScanner` refuses one
        // that reads past its own pointer); were one to, the records would go, and then the question too.
        for keep in kept == 0 ? [0] : [kept, 0] {
            let end = keep == 0 ? questionEnd : recordEnds[keep - 1]
            if let cut = try? DNSMessage(bytes: assembled(keeping: keep, endingAt: end, opt: optBytes)) {
                return cut
            }
        }
        return bareTruncated
    }

    /// The header with TC set and the counts of `records` answer and authority records (and the OPT record when
    /// there is one), then the bytes from the question to `end`, then the OPT record.
    private func assembled(keeping records: Int, endingAt end: Int, opt: [UInt8]) -> [UInt8] {
        var newHeader = header
        newHeader.isTruncated = true
        newHeader.answerCount = UInt16(min(records, Int(header.answerCount)))
        newHeader.authorityCount = UInt16(records - Int(newHeader.answerCount))
        newHeader.additionalCount = opt.isEmpty ? 0 : 1
        var newBytes: [UInt8] = []
        newBytes.reserveCapacity(end + opt.count)
        newHeader.append(to: &newBytes)
        newBytes.append(contentsOf: bytes[DNSHeader.size..<end])
        newBytes.append(contentsOf: opt)
        return newBytes
    }

    /// The header alone, with TC set and no records: still tells the client to retry over TCP.
    private var bareTruncated: DNSMessage {
        var bare = header
        bare.isTruncated = true
        bare.questionCount = 0
        bare.answerCount = 0
        bare.authorityCount = 0
        bare.additionalCount = 0
        return DNSMessage(bytes: bare.bytes, header: bare, question: nil, edns: nil, questionEnd: DNSHeader.size)
    }
}
