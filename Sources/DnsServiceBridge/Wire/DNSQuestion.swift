/// One entry of the question section: name, type and class.
public struct DNSQuestion: Hashable, Sendable, CustomStringConvertible {
    /// The class IN (1), the only one most servers answer.
    public static let classIN: UInt16 = 1

    /// QNAME; compares case-insensitively, so equal questions may differ in case.
    public var name: DNSName
    /// QTYPE.
    public var type: DNSRecordType
    /// QCLASS (1 IN, 3 CH, 255 ANY).
    public var qclass: UInt16

    /// Makes a question; the class defaults to IN.
    public init(name: DNSName, type: DNSRecordType, qclass: UInt16 = DNSQuestion.classIN) {
        self.name = name
        self.type = type
        self.qclass = qclass
    }

    /// The question as dig prints it, such as "example.org. IN A".
    public var description: String {
        "\(name) \(Self.className(qclass)) \(type)"
    }

    /// The class mnemonic dig prints (`IN`, `CH`), or `CLASSn` (RFC 3597).
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
}
