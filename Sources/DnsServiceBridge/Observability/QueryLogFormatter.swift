import NIOCore

/// Renders one query log line from a CoreDNS format string (`{remote}`, `{type}`, `{>rflags}`...). The
/// default, `{common}`, is CoreDNS's:
/// `{remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}" {rcode} {>rflags} {rsize} {duration}`.
public struct QueryLogFormatter: Sendable {
    /// CoreDNS's common log format.
    public static let commonFormat =
        #"{remote}:{port} - {>id} "{type} {class} {name} {proto} {size} {>do} {>bufsize}" {rcode} {>rflags} {rsize} {duration}"#
    /// CoreDNS's combined log format: common plus the opcode.
    public static let combinedFormat = commonFormat + #" "{>opcode}""#

    private enum Piece: Sendable {
        case literal(String)
        case placeholder(String)
    }

    private let pieces: [Piece]

    /// Parses `format` once; `{common}` and `{combined}` expand to CoreDNS's formats. Unknown placeholders
    /// print `-`, as in CoreDNS.
    public init(format: String? = nil) {
        let text = (format ?? "{common}")
            .replacingAll("{common}", with: Self.commonFormat)
            .replacingAll("{combined}", with: Self.combinedFormat)
        var pieces: [Piece] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            literal += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                // An unclosed brace is text.
                literal += rest[open...]
                rest = ""
                break
            }
            if !literal.isEmpty { pieces.append(.literal(literal)) }
            literal = ""
            pieces.append(.placeholder(String(rest[rest.index(after: open)..<close])))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        self.pieces = pieces
    }

    /// The line for one query: answered with `reply`, or (nil) dropped with no reply, whose rcode and rflags are
    /// `-` and size 0, as CoreDNS prints a query its plugins left unanswered.
    public func line(query: DNSMessage, reply: DNSMessage?, client: String?, transport: ClientTransport,
                     duration: TimeAmount) -> String {
        var line = ""
        for piece in pieces {
            switch piece {
            case .literal(let text):
                line += text
            case .placeholder(let name):
                line += value(of: name, query: query, reply: reply, client: client, transport: transport,
                              duration: duration)
            }
        }
        return line
    }

    private func value(of name: String, query: DNSMessage, reply: DNSMessage?, client: String?,
                       transport: ClientTransport, duration: TimeAmount) -> String {
        switch name {
        case "remote": return Self.remote(client).host
        case "port": return Self.remote(client).port
        case "type": return query.question.map { "\($0.type)" } ?? "-"
        case "class": return query.question.map { Self.className($0.qclass) } ?? "-"
        case "name": return query.question.map { "\($0.name)" } ?? "-"
        case "proto": return transport == .udp ? "udp" : "tcp"
        case "size": return "\(query.bytes.count)"
        case "rcode": return reply.map { Self.rcodeName($0.rcode) } ?? "-"
        case "rsize": return "\(reply?.bytes.count ?? 0)"
        case "duration": return Self.seconds(duration)
        case ">id": return "\(query.header.id)"
        case ">opcode": return "\(query.header.opcode)"
        case ">do": return query.edns?.dnssecOK == true ? "true" : "false"
        case ">bufsize": return "\(query.maxUDPResponseSize)"
        case ">rflags": return reply.map { Self.flags($0.header) } ?? "-"
        default: return "-"
        }
    }

    /// The client's IP (IPv6 in brackets, as CoreDNS prints it) and port, from a SwiftNIO address description
    /// such as `[IPv4]127.0.0.1/127.0.0.1:5353`; `-` for what is unknown (gRPC clients).
    static func remote(_ client: String?) -> (host: String, port: String) {
        guard let client else { return ("-", "-") }
        var text = Substring(client)
        let isIPv6 = text.hasPrefix("[IPv6]")
        if let close = text.firstIndex(of: "]"), text.hasPrefix("[") { text = text[text.index(after: close)...] }
        if let slash = text.firstIndex(of: "/") { text = text[text.index(after: slash)...] }
        guard let colon = text.lastIndex(of: ":") else { return (String(text), "-") }
        let host = String(text[..<colon])
        let port = String(text[text.index(after: colon)...])
        return (isIPv6 ? "[\(host)]" : host, port)
    }

    static func className(_ qclass: UInt16) -> String {
        switch qclass {
        case 1: "IN"
        case 3: "CH"
        case 4: "HS"
        case 254: "NONE"
        case 255: "ANY"
        default: "CLASS\(qclass)"
        }
    }

    /// The rcode's name, or its number when it has none (as miekg/dns prints it).
    static func rcodeName(_ rcode: DNSResponseCode) -> String {
        let name = rcode.description
        return name.isEmpty ? "\(rcode.rawValue)" : name
    }

    /// Header flags set, lower case, comma separated, in CoreDNS's order: `qr,aa,tc,rd,ra,z,ad,cd`.
    static func flags(_ header: DNSHeader) -> String {
        var flags: [String] = []
        if header.isResponse { flags.append("qr") }
        if header.isAuthoritative { flags.append("aa") }
        if header.isTruncated { flags.append("tc") }
        if header.recursionDesired { flags.append("rd") }
        if header.recursionAvailable { flags.append("ra") }
        if header.flags & 0x0040 != 0 { flags.append("z") }
        if header.authenticData { flags.append("ad") }
        if header.checkingDisabled { flags.append("cd") }
        return flags.joined(separator: ",")
    }

    /// Seconds with up to nanosecond digits and no trailing zeros, then `s`: Go's
    /// `strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"` for the durations a query takes.
    static func seconds(_ duration: TimeAmount) -> String {
        let nanoseconds = max(0, duration.nanoseconds)
        let whole = nanoseconds / 1_000_000_000
        var fraction = String(nanoseconds % 1_000_000_000)
        guard fraction != "0" else { return "\(whole)s" }
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(whole).\(fraction)s"
    }
}

extension String {
    /// Every occurrence of `target` replaced (Foundation-free).
    fileprivate func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound]
            result += replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
