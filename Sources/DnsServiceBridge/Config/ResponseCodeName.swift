/// Response code names as CoreDNS (miekg/dns `StringToRcode`) accepts them in `next`, case-insensitively.
enum ResponseCodeName {
    static let values: [String: Int] = [
        "NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "NOTIMPL": 4, "REFUSED": 5,
        "YXDOMAIN": 6, "YXRRSET": 7, "NXRRSET": 8, "NOTAUTH": 9, "NOTZONE": 10, "BADSIG": 16, "BADVERS": 16,
        "BADKEY": 17, "BADTIME": 18, "BADMODE": 19, "BADNAME": 20, "BADALG": 21, "BADTRUNC": 22, "BADCOOKIE": 23,
    ]

    /// The numeric code for a name, or nil.
    static func value(of name: String) -> Int? {
        values[name.uppercased()]
    }
}
