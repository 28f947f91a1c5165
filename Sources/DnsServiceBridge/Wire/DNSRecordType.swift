/// A resource record type (QTYPE/TYPE) as a 16-bit number with miekg/dns names.
public struct DNSRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The type number on the wire.
    public let rawValue: UInt16

    /// Wraps a type number; every 16-bit value is a valid type, known or not.
    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// IPv4 address (1).
    public static let a = DNSRecordType(rawValue: 1)
    /// Authoritative name server (2).
    public static let ns = DNSRecordType(rawValue: 2)
    /// Canonical name (5).
    public static let cname = DNSRecordType(rawValue: 5)
    /// Start of authority (6).
    public static let soa = DNSRecordType(rawValue: 6)
    /// Null record (10).
    public static let null = DNSRecordType(rawValue: 10)
    /// Domain name pointer (12).
    public static let ptr = DNSRecordType(rawValue: 12)
    /// Host information (13).
    public static let hinfo = DNSRecordType(rawValue: 13)
    /// Mail exchange (15).
    public static let mx = DNSRecordType(rawValue: 15)
    /// Text strings (16).
    public static let txt = DNSRecordType(rawValue: 16)
    /// Signature (24); in a message's additional section, a SIG(0) transaction signature (RFC 2931).
    public static let sig = DNSRecordType(rawValue: 24)
    /// IPv6 address (28).
    public static let aaaa = DNSRecordType(rawValue: 28)
    /// Location (29).
    public static let loc = DNSRecordType(rawValue: 29)
    /// Service locator (33).
    public static let srv = DNSRecordType(rawValue: 33)
    /// Naming authority pointer (35).
    public static let naptr = DNSRecordType(rawValue: 35)
    /// Delegation name (39).
    public static let dname = DNSRecordType(rawValue: 39)
    /// EDNS0 option pseudo-record (41).
    public static let opt = DNSRecordType(rawValue: 41)
    /// Delegation signer (43).
    public static let ds = DNSRecordType(rawValue: 43)
    /// SSH key fingerprint (44).
    public static let sshfp = DNSRecordType(rawValue: 44)
    /// DNSSEC signature (46).
    public static let rrsig = DNSRecordType(rawValue: 46)
    /// Next secure record (47).
    public static let nsec = DNSRecordType(rawValue: 47)
    /// DNSSEC public key (48).
    public static let dnskey = DNSRecordType(rawValue: 48)
    /// Hashed next secure record (50).
    public static let nsec3 = DNSRecordType(rawValue: 50)
    /// NSEC3 parameters (51).
    public static let nsec3param = DNSRecordType(rawValue: 51)
    /// TLS certificate association (52).
    public static let tlsa = DNSRecordType(rawValue: 52)
    /// Service binding (64).
    public static let svcb = DNSRecordType(rawValue: 64)
    /// HTTPS service binding (65).
    public static let https = DNSRecordType(rawValue: 65)
    /// Transaction key (249).
    public static let tkey = DNSRecordType(rawValue: 249)
    /// Transaction signature (250).
    public static let tsig = DNSRecordType(rawValue: 250)
    /// Incremental zone transfer (251).
    public static let ixfr = DNSRecordType(rawValue: 251)
    /// Full zone transfer (252).
    public static let axfr = DNSRecordType(rawValue: 252)
    /// Any type, query only (255).
    public static let any = DNSRecordType(rawValue: 255)
    /// Uniform resource identifier (256).
    public static let uri = DNSRecordType(rawValue: 256)
    /// Certification authority authorization (257).
    public static let caa = DNSRecordType(rawValue: 257)

    /// The mnemonic miekg/dns prints, or "TYPE" and the number (RFC 3597) for types it does not name.
    public var description: String {
        if let name = Self.mnemonics[rawValue] {
            return name
        }
        return "TYPE\(rawValue)"
    }

    /// The type a mnemonic names (`AAAA`, `mx`), or `TYPEnnn` (RFC 3597); nil for anything else.
    public init?(mnemonic: String) {
        let upper = mnemonic.uppercased()
        if let known = Self.mnemonics.first(where: { $0.value == upper }) {
            self.init(rawValue: known.key)
        } else if upper.hasPrefix("TYPE"), let number = UInt16(upper.dropFirst(4)) {
            self.init(rawValue: number)
        } else {
            return nil
        }
    }

    // A dictionary rather than a switch so the table reads like miekg/dns's TypeToString.
    private static let mnemonics: [UInt16: String] = [
        1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR", 10: "NULL",
        12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT", 17: "RP", 18: "AFSDB", 19: "X25",
        20: "ISDN", 21: "RT", 23: "NSAP-PTR", 24: "SIG", 25: "KEY", 26: "PX", 27: "GPOS", 28: "AAAA",
        29: "LOC", 30: "NXT", 31: "EID", 32: "NIMLOC", 33: "SRV", 34: "ATMA", 35: "NAPTR", 36: "KX",
        37: "CERT", 39: "DNAME", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP", 45: "IPSECKEY", 46: "RRSIG",
        47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA", 53: "SMIMEA",
        55: "HIP", 56: "NINFO", 57: "RKEY", 58: "TALINK", 59: "CDS", 60: "CDNSKEY", 61: "OPENPGPKEY",
        62: "CSYNC", 63: "ZONEMD", 64: "SVCB", 65: "HTTPS", 99: "SPF", 100: "UINFO", 101: "UID",
        102: "GID", 103: "UNSPEC", 104: "NID", 105: "L32", 106: "L64", 107: "LP", 108: "EUI48",
        109: "EUI64", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR", 253: "MAILB", 254: "MAILA",
        255: "ANY", 256: "URI", 257: "CAA", 258: "AVC", 260: "AMTRELAY", 32768: "TA", 32769: "DLV",
    ]
}
