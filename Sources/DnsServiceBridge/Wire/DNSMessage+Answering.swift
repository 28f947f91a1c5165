extension DNSMessage {
    /// This reply as the answer to `query`, the same question asked by another client: the client's ID, RD bit and
    /// question bytes (the same name, in the client's own case), everything else as it is.
    func answering(_ query: DNSMessage) -> DNSMessage {
        var newHeader = header
        newHeader.id = query.header.id
        newHeader.recursionDesired = query.header.recursionDesired
        var out = bytes
        out.setUInt16(newHeader.id, at: 0)
        out.setUInt16(newHeader.flags, at: 2)
        if questionEnd == query.questionEnd {
            out.replaceSubrange(DNSHeader.size..<questionEnd, with: query.bytes[DNSHeader.size..<query.questionEnd])
        }
        return DNSMessage(bytes: out, header: newHeader, question: query.question, edns: edns,
                          questionEnd: questionEnd)
    }
}
