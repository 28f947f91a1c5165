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
    /// OPT is not its last record (a signed one) goes as it is: rewriting would break its signature.
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
            guard !option.isEmpty, header.additionalCount < UInt16.max else { return self }
            var out = bytes
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
        // OPT: owner (the root, 1 byte), TYPE, CLASS, TTL, RDLENGTH (2 bytes at 9), then the options.
        let dataStart = opt.lowerBound + 11
        var options: [UInt8] = []
        var offset = dataStart
        while offset + 4 <= opt.upperBound {
            let code = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            let end = min(offset + 4 + length, opt.upperBound)
            if code != Self.clientSubnetOption { options.append(contentsOf: bytes[offset..<end]) }
            offset = end
        }
        options.append(contentsOf: option)
        guard options.count <= Int(UInt16.max) else { return self }
        var out = Array(bytes[..<dataStart])
        out.setUInt16(UInt16(options.count), at: opt.lowerBound + 9)
        out.append(contentsOf: options)
        out.append(contentsOf: bytes[opt.upperBound...])
        return DNSMessage(bytes: out, header: header, question: question, edns: edns, questionEnd: questionEnd)
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
