/// A DNS response code: the 4 header bits plus, with EDNS0, the 8 extended bits from the OPT record.
public struct DNSResponseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The 12-bit code; the low 4 bits go in the header, the high 8 in the OPT record's TTL.
    public let rawValue: UInt16

    /// Wraps a raw code; values above 4095 cannot be sent and keep only their low 12 bits.
    public init(rawValue: UInt16) {
        self.rawValue = rawValue & 0x0FFF
    }

    /// The 4 bits that fit in the header.
    public var headerBits: UInt16 { rawValue & 0x000F }

    /// The 8 bits that go in the OPT record's extended RCODE field.
    public var extendedBits: UInt8 { UInt8(truncatingIfNeeded: rawValue >> 4) }

    /// No error (0).
    public static let noError = DNSResponseCode(rawValue: 0)
    /// The server could not interpret the query (1).
    public static let formErr = DNSResponseCode(rawValue: 1)
    /// The server failed to process the query (2).
    public static let servFail = DNSResponseCode(rawValue: 2)
    /// The name does not exist (3).
    public static let nxDomain = DNSResponseCode(rawValue: 3)
    /// The server does not implement the request (4).
    public static let notImp = DNSResponseCode(rawValue: 4)
    /// The server refuses the request by policy (5).
    public static let refused = DNSResponseCode(rawValue: 5)
    /// A name exists that should not (6, RFC 2136).
    public static let yxDomain = DNSResponseCode(rawValue: 6)
    /// An RRset exists that should not (7, RFC 2136).
    public static let yxRRSet = DNSResponseCode(rawValue: 7)
    /// An RRset that should exist does not (8, RFC 2136).
    public static let nxRRSet = DNSResponseCode(rawValue: 8)
    /// The server is not authoritative or the request is not authorized (9).
    public static let notAuth = DNSResponseCode(rawValue: 9)
    /// A name is not in the zone (10, RFC 2136).
    public static let notZone = DNSResponseCode(rawValue: 10)
    /// DSO type not implemented (11, RFC 8490).
    public static let dsoTypeNI = DNSResponseCode(rawValue: 11)
    /// Unsupported EDNS version (16, RFC 6891); shares its value with TSIG's BADSIG.
    public static let badVers = DNSResponseCode(rawValue: 16)
    /// Bad or missing server cookie (23, RFC 7873).
    public static let badCookie = DNSResponseCode(rawValue: 23)

    /// The name miekg/dns and CoreDNS use (metrics labels, logs), or the number when it has none.
    public var description: String {
        switch rawValue {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        case 6: "YXDOMAIN"
        case 7: "YXRRSET"
        case 8: "NXRRSET"
        case 9: "NOTAUTH"
        case 10: "NOTZONE"
        case 11: "DSOTYPENI"
        // miekg/dns names 16 BADSIG (its BADVERS entry is commented out); CoreDNS metrics follow it.
        case 16: "BADSIG"
        case 17: "BADKEY"
        case 18: "BADTIME"
        case 19: "BADMODE"
        case 20: "BADNAME"
        case 21: "BADALG"
        case 22: "BADTRUNC"
        case 23: "BADCOOKIE"
        default: String(rawValue)
        }
    }
}
