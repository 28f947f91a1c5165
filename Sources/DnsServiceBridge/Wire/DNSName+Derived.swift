// Names derived from others, for answers we build: lowercased owners and prefixed labels.
extension DNSName {
    /// The same name with ASCII letters lowercased (CoreDNS answers under the lowercased query name).
    public var lowercasedName: DNSName {
        DNSName(uncheckedWire: wireBytes.map(Self.lowercased))
    }

    /// `label.` followed by this name, or nil when the label is empty, longer than 63 bytes or the result would
    /// be longer than 255 bytes.
    public func prepending(label: String) -> DNSName? {
        let bytes = Array(label.utf8)
        guard (1...63).contains(bytes.count), wireBytes.count + 1 + bytes.count <= 255 else { return nil }
        return DNSName(uncheckedWire: [UInt8(bytes.count)] + bytes + wireBytes)
    }
}
