// The OPT record of every reply mirrors the client's, as CoreDNS's SizeAndDo makes it: what EDNS says is
// hop-by-hop, so the client hears its own UDP size and DO bit back, not the upstream's.
extension EDNS0 {
    /// The OPT of a reply to a query whose OPT is `query`: the client's UDP size and DO, version 0, no other flag.
    init(replyingTo query: EDNS0, extendedRCodeHigh: UInt8 = 0) {
        self.init(udpPayloadSize: query.udpPayloadSize, extendedRCodeHigh: extendedRCodeHigh, version: 0,
                  dnssecOK: query.dnssecOK)
    }
}

extension DNSMessage {
    /// This reply with an OPT record that mirrors `query`'s: the UDP size and DO rewritten in place (the extended
    /// RCODE kept), or the client's OPT added when the reply has none. A query without EDNS gets a reply without
    /// OPT (one that an upstream added, or that answers the OPT `client_subnet` added, is removed).
    /// The usual case, an upstream that already answered with the client's size and DO, costs a comparison.
    func mirroringEDNS(of query: DNSMessage) -> DNSMessage {
        guard let asked = query.edns else { return edns == nil ? self : removingOPT() }
        let wanted = EDNS0(replyingTo: asked, extendedRCodeHigh: edns?.extendedRCodeHigh ?? 0)
        if edns == wanted { return self }
        var out = bytes
        var outHeader = header
        if edns != nil {
            guard let opt = recordLayout()?.optRecord else { return self }
            // The owner (the root, one byte) and TYPE come first; CLASS is the UDP size, TTL the flags.
            out.setUInt16(wanted.udpPayloadSize, at: opt.lowerBound + 3)
            out.setUInt32(wanted.optTTL, at: opt.lowerBound + 5)
        } else {
            guard header.additionalCount < UInt16.max, let layout = recordLayout() else { return self }
            out.removeSubrange(layout.end...)
            wanted.appendOPTRecord(to: &out)
            outHeader.additionalCount += 1
            out.setUInt16(outHeader.additionalCount, at: 10)
        }
        return DNSMessage(bytes: out, header: outHeader, question: question, edns: wanted, questionEnd: questionEnd)
    }
}
