/// The EDNS0 parameters carried by the OPT pseudo-record (RFC 6891 6.1.3); its options are not kept.
public struct EDNS0: Hashable, Sendable {
    /// The largest UDP payload the sender can reassemble (the OPT record's CLASS field).
    public var udpPayloadSize: UInt16
    /// The upper 8 bits of the 12-bit RCODE.
    public var extendedRCodeHigh: UInt8
    /// The EDNS version; only 0 exists.
    public var version: UInt8
    /// DO: the sender wants DNSSEC records (RFC 3225).
    public var dnssecOK: Bool

    /// Makes the EDNS0 parameters.
    public init(udpPayloadSize: UInt16, extendedRCodeHigh: UInt8 = 0, version: UInt8 = 0, dnssecOK: Bool = false) {
        self.udpPayloadSize = udpPayloadSize
        self.extendedRCodeHigh = extendedRCodeHigh
        self.version = version
        self.dnssecOK = dnssecOK
    }

    // The OPT record reuses CLASS for the payload size and TTL for extended RCODE, version and flags.
    init(optClass: UInt16, optTTL: UInt32) {
        self.init(
            udpPayloadSize: optClass,
            extendedRCodeHigh: UInt8(truncatingIfNeeded: optTTL >> 24),
            version: UInt8(truncatingIfNeeded: optTTL >> 16),
            dnssecOK: optTTL & 0x8000 != 0
        )
    }

    /// The OPT record's TTL field for these parameters (the Z bits other than DO are zero).
    var optTTL: UInt32 {
        UInt32(extendedRCodeHigh) << 24 | UInt32(version) << 16 | (dnssecOK ? 0x8000 : 0)
    }

    /// Appends a complete OPT record owned by the root, with no options.
    func appendOPTRecord(to buffer: inout [UInt8]) {
        buffer.append(0)
        buffer.appendUInt16(DNSRecordType.opt.rawValue)
        buffer.appendUInt16(udpPayloadSize)
        buffer.appendUInt32(optTTL)
        buffer.appendUInt16(0)
    }

    /// The size of the record `appendOPTRecord` writes.
    static let emptyOPTRecordSize = 11
}
