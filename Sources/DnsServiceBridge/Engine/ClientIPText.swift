/// Reads IP address text a byte at a time, with no allocation and no C call: gRPC core names every call's client
/// in text (`ipv4:10.0.0.1:40000`), and the rate limit reads it per call. Accepts what `inet_pton` accepts (no
/// leading zeros in IPv4 octets, at most one `::`, a dotted IPv4 tail in IPv6); an IPv6 `%zone` ends the address.
/// Each reader stops at `end` (consumed), which must come when one is given, or at the end of the bytes.
enum ClientIPText {
    /// A dotted-quad IPv4 address in host byte order.
    static func ipv4<Bytes: IteratorProtocol<UInt8>>(_ bytes: inout Bytes, until end: UInt8? = nil) -> UInt32? {
        dotted(&bytes, firstOctet: nil, until: end)
    }

    /// An IPv6 address.
    static func ipv6<Bytes: IteratorProtocol<UInt8>>(_ bytes: inout Bytes, until end: UInt8? = nil) -> UInt128? {
        // Groups before a `::` shift into `head`, those after it into `tail`; the `::` stands for the zeros between.
        var head: UInt128 = 0
        var tail: UInt128 = 0
        var headGroups = 0
        var tailGroups = 0
        var compressed = false
        var group: UInt32 = 0
        var digits = 0
        // The group read as decimal too, in case it is the first octet of a dotted IPv4 tail (`::ffff:192.0.2.1`).
        var decimalValue: UInt32 = 0
        var allDecimal = true
        var leadingZero = false
        // The last byte was a colon that ended a group (a second one right after makes `::`).
        var afterGroupColon = false

        func push(_ word: UInt32) -> Bool {
            guard headGroups + tailGroups < 8 else { return false }
            if compressed {
                tail = tail << 16 | UInt128(word)
                tailGroups += 1
            } else {
                head = head << 16 | UInt128(word)
                headGroups += 1
            }
            return true
        }

        // The first byte, read ahead to see a leading `::` (a leading colon is only ever the start of one).
        var readAhead: UInt8?? = bytes.next()
        if readAhead == UInt8(ascii: ":") {
            guard bytes.next() == UInt8(ascii: ":") else { return nil }
            compressed = true
            readAhead = .none
        }
        while true {
            let byte: UInt8?
            if case .some(let first) = readAhead {
                byte = first
                readAhead = .none
            } else {
                byte = bytes.next()
            }
            if byte == nil || byte == end || byte == UInt8(ascii: "%") {
                guard byte != nil || end == nil else { return nil }
                if digits > 0 {
                    guard push(group) else { return nil }
                } else if afterGroupColon {
                    return nil  // a single trailing colon
                }
                if byte == UInt8(ascii: "%") {
                    // A zone (`fe80::1%eth0`) is not part of the address: skipped up to the end.
                    var skipped = bytes.next()
                    while skipped != nil && skipped != end { skipped = bytes.next() }
                    guard skipped != nil || end == nil else { return nil }
                }
                break
            }
            guard let byte else { return nil }
            if byte == UInt8(ascii: ":") {
                if digits > 0 {
                    guard push(group) else { return nil }
                    (group, digits, decimalValue, allDecimal) = (0, 0, 0, true)
                    afterGroupColon = true
                } else if afterGroupColon && !compressed {
                    compressed = true
                    afterGroupColon = false
                } else {
                    return nil  // `:::`, or a second `::`
                }
                continue
            }
            if byte == UInt8(ascii: ".") {
                // The rest is an IPv4 address in the last two groups; its first octet has been read.
                guard digits > 0, allDecimal, digits <= 3, !(digits > 1 && leadingZero), decimalValue <= 255,
                      let ipv4 = dotted(&bytes, firstOctet: decimalValue, until: end),
                      push(ipv4 >> 16), push(ipv4 & 0xFFFF) else { return nil }
                break
            }
            guard let digit = hexadecimal(byte), digits < 4 else { return nil }
            if digits == 0 { leadingZero = digit == 0 }
            group = group << 4 | digit
            if let digit = decimal(byte) { decimalValue = decimalValue * 10 + digit } else { allDecimal = false }
            digits += 1
            afterGroupColon = false
        }

        func joined() -> UInt128 {
            (headGroups == 0 ? 0 : head << (16 * (8 - headGroups))) | tail
        }
        if compressed { return headGroups + tailGroups <= 7 ? joined() : nil }
        return headGroups == 8 ? head : nil
    }

    /// Dotted octets up to the fourth; `firstOctet` when the caller read the first one and its dot.
    private static func dotted<Bytes: IteratorProtocol<UInt8>>(_ bytes: inout Bytes, firstOctet: UInt32?,
                                                               until end: UInt8?) -> UInt32? {
        var address = firstOctet ?? 0
        var octets = firstOctet == nil ? 0 : 1
        var octet: UInt32 = 0
        var digits = 0
        while true {
            let byte = bytes.next()
            if byte == nil || byte == end || byte == UInt8(ascii: ".") {
                guard digits > 0, byte != nil || end == nil else { return nil }
                address = address << 8 | octet
                octets += 1
                if byte != UInt8(ascii: ".") { return octets == 4 ? address : nil }
                guard octets < 4 else { return nil }
                (octet, digits) = (0, 0)
                continue
            }
            guard let byte, let digit = decimal(byte), digits < 3, !(digits == 1 && octet == 0) else { return nil }
            octet = octet * 10 + digit
            digits += 1
            guard octet <= 255 else { return nil }
        }
    }

    private static func decimal(_ byte: UInt8) -> UInt32? {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? UInt32(byte - UInt8(ascii: "0")) : nil
    }

    static func hexadecimal(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
