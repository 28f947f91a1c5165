// Queries we originate ourselves, such as health checks for ". IN NS".
extension DNSMessage {
    /// A query for `name`/`type` in class IN; with `udpPayloadSize` it carries an OPT record advertising it, with
    /// the DO bit when `dnssecOK`.
    public static func query(
        name: DNSName,
        type: DNSRecordType,
        id: UInt16,
        recursionDesired: Bool = true,
        udpPayloadSize: UInt16? = nil,
        dnssecOK: Bool = false
    ) -> DNSMessage {
        var header = DNSHeader(id: id, questionCount: 1, additionalCount: udpPayloadSize == nil ? 0 : 1)
        header.recursionDesired = recursionDesired
        let question = DNSQuestion(name: name, type: type)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(DNSHeader.size + name.wireBytes.count + 4 + EDNS0.emptyOPTRecordSize)
        header.append(to: &bytes)
        bytes.append(contentsOf: name.wireBytes)
        bytes.appendUInt16(type.rawValue)
        bytes.appendUInt16(question.qclass)
        let questionEnd = bytes.count
        var edns: EDNS0? = nil
        if let udpPayloadSize {
            let parameters = EDNS0(udpPayloadSize: udpPayloadSize, dnssecOK: dnssecOK)
            parameters.appendOPTRecord(to: &bytes)
            edns = parameters
        }
        return DNSMessage(bytes: bytes, header: header, question: question, edns: edns, questionEnd: questionEnd)
    }
}
