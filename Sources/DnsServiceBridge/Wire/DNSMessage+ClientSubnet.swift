// EDNS Client Subnet (RFC 7871): the upstream learns which network asked, cut to a prefix so that it never learns
// the client's own address. Whatever ECS option the client sent is dropped first, so a client cannot claim to be
// somewhere else.
extension DNSMessage {
    /// The option code of EDNS Client Subnet.
    static let clientSubnetOption: UInt16 = 8
    /// The UDP size of an OPT record added to a query that had none.
    static let addedOPTPayloadSize: UInt16 = 1232

    /// This query with its ECS option replaced by one for `address` cut to the prefix length
    /// `subnet` gives its family; with no address (a unix-socket client) the client's option is only removed. A
    /// query without OPT gets one (the reply's is removed again for the client, see `mirroringEDNS`). A query whose
    /// OPT is not its last record, or that has no OPT and is signed (TSIG or SIG(0) in its additional section), goes
    /// as it is: rewriting would break its signature.
    func withClientSubnet(of address: ClientIP?, _ subnet: MeshConfiguration.ClientSubnet) -> DNSMessage {
        var option: [UInt8] = []
        if let address {
            let isIPv4 = address.isIPv4
            let prefix = isIPv4 ? subnet.ipv4Prefix : subnet.ipv6Prefix
            let kept = address.masked(ClientIP.mask(bits: isIPv4 ? 96 + prefix : prefix)).bytes.prefix((prefix + 7) / 8)
            option.appendUInt16(Self.clientSubnetOption)
            option.appendUInt16(UInt16(4 + kept.count))
            option.appendUInt16(isIPv4 ? 1 : 2)
            option.append(UInt8(prefix))
            option.append(0)  // SCOPE PREFIX-LENGTH: 0 in queries
            option.append(contentsOf: kept)
        }
        guard edns != nil else {
            // An OPT record after a TSIG or SIG(0) record would break the signature, which must come last.
            guard !option.isEmpty, header.additionalCount < UInt16.max, let layout = recordLayout(),
                  !layout.contains(.tsig, in: .additional), !layout.contains(.sig, in: .additional) else { return self }
            var out = Array(bytes[..<layout.end])
            EDNS0(udpPayloadSize: Self.addedOPTPayloadSize).appendOPTRecord(to: &out)
            out.setUInt16(UInt16(option.count), at: out.count - 2)
            out.append(contentsOf: option)
            var outHeader = header
            outHeader.additionalCount += 1
            out.setUInt16(outHeader.additionalCount, at: 10)
            return DNSMessage(bytes: out, header: outHeader, question: question,
                              edns: EDNS0(udpPayloadSize: Self.addedOPTPayloadSize), questionEnd: questionEnd)
        }
        guard let opt = recordLayout()?.optRecord else { return self }
        var options: [UInt8] = []
        for kept in ednsOptions(in: opt) where kept.code != Self.clientSubnetOption {
            options.append(contentsOf: bytes[kept.bytes])
        }
        options.append(contentsOf: option)
        let dataStart = opt.lowerBound + Self.optFixedSize
        guard options.count <= Int(UInt16.max) else { return self }
        var out = Array(bytes[..<dataStart])
        out.setUInt16(UInt16(options.count), at: opt.lowerBound + 9)
        out.append(contentsOf: options)
        out.append(contentsOf: bytes[opt.upperBound...])
        return DNSMessage(bytes: out, header: header, question: question, edns: edns, questionEnd: questionEnd)
    }

    /// One option of an OPT record: its code, and its bytes in the message (code, length and data).
    struct EDNSOption: Sendable {
        let code: UInt16
        let bytes: Range<Int>
        /// The option's data (what follows its code and length).
        var data: Range<Int> { bytes.lowerBound + 4..<bytes.upperBound }
    }

    /// The OPT record's fixed part: owner (the root, 1 byte), TYPE, CLASS, TTL and RDLENGTH (2 bytes at 9).
    static let optFixedSize = 11

    /// The whole options of the OPT record at `opt` (`RecordLayout.optRecord`), in order. What follows the last
    /// of them (an option whose length runs past the record, or bytes too few for a code and a length) is not an
    /// option: a rewrite that kept it would hide the options after it inside it.
    func ednsOptions(in opt: Range<Int>) -> [EDNSOption] {
        var options: [EDNSOption] = []
        var offset = opt.lowerBound + Self.optFixedSize
        while offset + 4 <= opt.upperBound {
            let code = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let end = offset + 4 + (Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3]))
            guard end <= opt.upperBound else { break }
            options.append(EDNSOption(code: code, bytes: offset..<end))
            offset = end
        }
        return options
    }

    /// This reply without its OPT record, for a client that sent none (RFC 6891 7); as it is when the OPT is not
    /// the last record.
    func removingOPT() -> DNSMessage {
        guard edns != nil, header.additionalCount > 0, let opt = recordLayout()?.optRecord,
              opt.upperBound == bytes.count else { return self }
        var out = Array(bytes[..<opt.lowerBound])
        var outHeader = header
        outHeader.additionalCount -= 1
        out.setUInt16(outHeader.additionalCount, at: 10)
        return DNSMessage(bytes: out, header: outHeader, question: question, edns: nil, questionEnd: questionEnd)
    }
}
