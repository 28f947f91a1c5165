// A message as dig prints it, for `dnsgrpcd query`.
extension DNSMessage {
    /// The header line, the flags, EDNS's pseudo-section, the question and every record section in dig's layout;
    /// a record section that does not parse ends the text with a line saying so.
    public var digText: String {
        var lines = [
            ";; ->>HEADER<<- opcode: \(Self.opcodeName(header.opcode)), status: \(rcode), id: \(header.id)",
            ";; flags: \(flagNames.joined(separator: " ")); QUERY: \(header.questionCount), "
                + "ANSWER: \(header.answerCount), AUTHORITY: \(header.authorityCount), "
                + "ADDITIONAL: \(header.additionalCount)",
        ]
        if let edns {
            lines += ["", ";; OPT PSEUDOSECTION:",
                      "; EDNS: version: \(edns.version), flags:\(edns.dnssecOK ? " do" : ""); udp: \(edns.udpPayloadSize)"]
        }
        if let question {
            lines += ["", ";; QUESTION SECTION:",
                      ";\(question.name)\t\t\(DNSQuestion.className(question.qclass))\t\(question.type)"]
        }
        var section: DNSSection?
        var walker = RecordWalker(header: header, offset: questionEnd)
        do {
            while let record = try walker.next(in: bytes.span) {
                // EDNS's OPT record is shown above, in its pseudo-section.
                if record.type == DNSRecordType.opt.rawValue { continue }
                if record.section != section {
                    section = record.section
                    lines += ["", ";; \(record.section.description.uppercased()) SECTION:"]
                }
                lines.append(recordLine(record))
            }
        } catch {
            lines += ["", ";; the rest of the reply does not parse: \(error)"]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private var flagNames: [String] {
        [("qr", header.isResponse), ("aa", header.isAuthoritative), ("tc", header.isTruncated),
         ("rd", header.recursionDesired), ("ra", header.recursionAvailable), ("ad", header.authenticData),
         ("cd", header.checkingDisabled)].filter(\.1).map(\.0)
    }

    private func recordLine(_ record: WireRecord) -> String {
        let owner = (try? WireNameScanner.readName(bytes, at: record.start).name.description) ?? "?"
        let fields = record.fieldsStart
        let type = DNSRecordType(rawValue: record.type)
        let recordClass = UInt16(bytes[fields + 2]) << 8 | UInt16(bytes[fields + 3])
        let ttl = (fields + 4..<fields + 8).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[$1]) }
        let data = RecordDataText.text(of: type, in: bytes, from: fields + 10, to: record.end)
        return "\(owner)\t\t\(ttl)\t\(DNSQuestion.className(recordClass))\t\(type)\t\(data)"
    }

    private static func opcodeName(_ opcode: UInt8) -> String {
        switch opcode {
        case 0: "QUERY"
        case 1: "IQUERY"
        case 2: "STATUS"
        case 4: "NOTIFY"
        case 5: "UPDATE"
        default: "OPCODE\(opcode)"
        }
    }
}
