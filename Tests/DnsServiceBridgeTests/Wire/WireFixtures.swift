/// Real DNS messages for the Wire tests, as hex.
///
/// The queries were captured from dig 9.18.49 on 2026-11-21: a python3 UDP socket bound to 127.0.0.1 on an
/// ephemeral port wrote each received datagram as `data.hex()`, and dig was pointed at it with
/// `dig @127.0.0.1 -p PORT <args> +tries=1 +timeout=1`. dig sets RD and AD and, with EDNS, adds a COOKIE option.
/// The response was built with dnspython 2.9.2 (`dns.message.make_response` to `ednsQuery`, flag RA, EDNS0 with
/// payload 1232, six A records, two NS and two glue records) and `to_wire()`, which compresses names.
enum WireFixtures {
    /// `dig example.org A +edns=0 +bufsize=1232`: ID 0xf7f7, RD AD, OPT 1232 with an 8-byte client cookie.
    static let ednsQuery = hex(
        "f7f701200001000000000001076578616d706c65036f7267000001000100002904d000000000000c000a0008908098c6d3460365"
    )

    /// `dig example.org A +noedns`: ID 0x42de, RD AD, no additional records.
    static let plainQuery = hex("42de01200001000000000000076578616d706c65036f72670000010001")

    /// `dig Example.ORG TXT` (EDNS by default): ID 0x9f52, mixed-case name, OPT 1232 with a cookie.
    static let mixedCaseTXTQuery = hex(
        "9f5201200001000000000001074578616d706c65034f5247000010000100002904d000000000000c000a00082a9699afeb17c3cb"
    )

    /// dnspython's reply to `ednsQuery`, 216 bytes. Layout: header 0-11, question 12-28, six 16-byte A records
    /// 29-124 (owner pointer c00c), two 18-byte NS records 125-160, glue A for ns1 161-176 (owner pointer c09b
    /// into the second NS record's data), glue AAAA for ns2 177-204 (c089), OPT 205-215.
    static let response = hex(
        "f7f781800001000600020003076578616d706c65036f72670000010001c00c000100010000012c0004c0000201c00c000100"
            + "010000012c0004c0000204c00c000100010000012c0004c0000205c00c000100010000012c0004c0000203c00c0001000100"
            + "00012c0004c0000206c00c000100010000012c0004c0000202c00c0002000100000e100006036e7332c00cc00c0002000100"
            + "000e100006036e7331c00cc09b0001000100000e100004c0000235c089001c000100000e10001020010db800000000000000"
            + "000000005300002904d0000000000000"
    )

    /// Offset just after the question in every fixture above (12 + 13-byte name + type + class).
    static let questionEnd = 29

    /// Decodes hex; test input only, so a bad digit yields an empty array that the tests then fail on.
    static func hex(_ text: String) -> [UInt8] {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else {
            return []
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else {
                return []
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    /// Encodes bytes as lowercase hex, for readable expectations.
    static func hexString(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
