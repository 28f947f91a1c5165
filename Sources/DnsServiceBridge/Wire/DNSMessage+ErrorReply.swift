// Replies the forwarder makes itself when it cannot or will not forward a query.
extension DNSMessage {
    /// An empty NOERROR reply with TC set: what a server sends when the answer does not fit, telling the asker to
    /// retry over TCP.
    public func truncatedEmptyReply() -> DNSMessage {
        var bytes = errorReply(.noError).bytes
        bytes[2] |= 0x02  // TC: the second-lowest bit of the first flags byte
        // The bytes come from a message that parsed, with one header bit changed.
        return (try? DNSMessage(bytes: bytes)) ?? errorReply(.noError)
    }

    /// A reply to this query with `rcode`: question echoed, no records, and an OPT record only if the query had one.
    ///
    /// Codes above 15 need EDNS0; without it only their low 4 bits reach the client.
    public func errorReply(_ rcode: DNSResponseCode) -> DNSMessage {
        var replyHeader = DNSHeader(id: header.id, questionCount: question == nil ? 0 : 1)
        replyHeader.isResponse = true
        replyHeader.opcode = header.opcode
        replyHeader.recursionDesired = header.recursionDesired
        // miekg/dns's SetReply copies CD as well; clients validating themselves expect it back.
        replyHeader.checkingDisabled = header.checkingDisabled
        replyHeader.recursionAvailable = true
        replyHeader.rcode = rcode

        var replyEDNS: EDNS0? = nil
        if let edns {
            replyEDNS = EDNS0(replyingTo: edns, extendedRCodeHigh: rcode.extendedBits)
            replyHeader.additionalCount = 1
        }

        var replyBytes: [UInt8] = []
        replyBytes.reserveCapacity(questionEnd + EDNS0.emptyOPTRecordSize)
        replyHeader.append(to: &replyBytes)
        // The question is copied byte for byte: same case, and any pointer inside it still points at offset >= 12.
        replyBytes.append(contentsOf: bytes[DNSHeader.size..<questionEnd])
        replyEDNS?.appendOPTRecord(to: &replyBytes)
        return DNSMessage(
            bytes: replyBytes,
            header: replyHeader,
            question: question,
            edns: replyEDNS,
            questionEnd: questionEnd
        )
    }

    /// A header-only reply (usually FORMERR) to a query whose header parses but whose body does not.
    ///
    /// Nil when there is no header to answer or the bytes are themselves a response, which must never be answered.
    public static func errorReply(toUnparsed bytes: [UInt8], rcode: DNSResponseCode) -> DNSMessage? {
        guard let query = try? DNSHeader(bytes: bytes), !query.isResponse else {
            return nil
        }
        var header = DNSHeader(id: query.id)
        header.isResponse = true
        header.opcode = query.opcode
        header.recursionDesired = query.recursionDesired
        header.checkingDisabled = query.checkingDisabled
        header.recursionAvailable = true
        header.rcode = rcode
        return DNSMessage(bytes: header.bytes, header: header, question: nil, edns: nil, questionEnd: DNSHeader.size)
    }
}
