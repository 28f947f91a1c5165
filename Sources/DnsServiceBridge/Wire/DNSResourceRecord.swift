/// One resource record to put in a reply we build ourselves (hosts, whoami, cache), kept in wire form.
public struct DNSResourceRecord: Sendable, Hashable {
    /// The owner name, written uncompressed.
    public var name: DNSName
    public var type: DNSRecordType
    /// CLASS; IN unless the question asked for another one.
    public var recordClass: UInt16
    /// TTL in seconds.
    public var ttl: UInt32
    /// RDATA exactly as it goes on the wire.
    public var data: [UInt8]

    /// Makes a record from its fields.
    public init(name: DNSName, type: DNSRecordType, recordClass: UInt16 = DNSQuestion.classIN, ttl: UInt32,
                data: [UInt8]) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.ttl = ttl
        self.data = data
    }

    /// An A record for 4 address bytes or an AAAA record for 16; nil for any other length.
    public static func address(_ name: DNSName, bytes: [UInt8], ttl: UInt32,
                               recordClass: UInt16 = DNSQuestion.classIN) -> DNSResourceRecord? {
        switch bytes.count {
        case 4: DNSResourceRecord(name: name, type: .a, recordClass: recordClass, ttl: ttl, data: bytes)
        case 16: DNSResourceRecord(name: name, type: .aaaa, recordClass: recordClass, ttl: ttl, data: bytes)
        default: nil
        }
    }

    /// A PTR record pointing at `target`.
    public static func pointer(_ name: DNSName, target: DNSName, ttl: UInt32) -> DNSResourceRecord {
        DNSResourceRecord(name: name, type: .ptr, ttl: ttl, data: target.wireBytes)
    }

    /// An SRV record (RFC 2782); the target is written uncompressed, as the RFC requires.
    public static func service(_ name: DNSName, priority: UInt16 = 0, weight: UInt16 = 0, port: UInt16,
                               target: DNSName, ttl: UInt32, recordClass: UInt16 = DNSQuestion.classIN)
        -> DNSResourceRecord {
        var data: [UInt8] = []
        data.reserveCapacity(6 + target.wireBytes.count)
        data.appendUInt16(priority)
        data.appendUInt16(weight)
        data.appendUInt16(port)
        data.append(contentsOf: target.wireBytes)
        return DNSResourceRecord(name: name, type: .srv, recordClass: recordClass, ttl: ttl, data: data)
    }

    /// The size of the record on the wire.
    var wireSize: Int { name.wireBytes.count + 10 + data.count }

    /// Appends the record with its owner name uncompressed; RDATA longer than 65535 bytes cannot be built here.
    func append(to buffer: inout [UInt8]) {
        buffer.append(contentsOf: name.wireBytes)
        buffer.appendUInt16(type.rawValue)
        buffer.appendUInt16(recordClass)
        buffer.appendUInt32(ttl)
        buffer.appendUInt16(UInt16(truncatingIfNeeded: data.count))
        buffer.append(contentsOf: data)
    }
}
