import Testing

@testable import DnsServiceBridge

@Suite struct DNSNameTests {
    private static let exampleOrgWire: [UInt8] = [7] + Array("example".utf8) + [3] + Array("org".utf8) + [0]

    @Test func parsesWithAndWithoutTrailingDot() throws {
        let relative = try DNSName("example.org")
        let absolute = try DNSName("example.org.")
        #expect(relative.wireBytes == Self.exampleOrgWire)
        #expect(absolute.wireBytes == Self.exampleOrgWire)
        #expect(relative.labelCount == 2)
        #expect(relative.labels == [Array("example".utf8), Array("org".utf8)])
        #expect(relative.description == "example.org.")
    }

    @Test func root() throws {
        let root = try DNSName(".")
        #expect(root == DNSName.root)
        #expect(root.wireBytes == [0])
        #expect(root.isRoot)
        #expect(root.labelCount == 0)
        #expect(root.labels.isEmpty)
        #expect(root.description == ".")
        #expect(!(try DNSName("org")).isRoot)
    }

    @Test func comparesAndHashesIgnoringCaseButKeepsIt() throws {
        let mixed = try DNSName("Example.ORG")
        let lower = try DNSName("example.org.")
        #expect(mixed == lower)
        #expect(mixed.hashValue == lower.hashValue)
        #expect(Set([mixed, lower]).count == 1)
        #expect(mixed.description == "Example.ORG.")
        #expect(mixed.wireBytes != lower.wireBytes)
        #expect(try DNSName("example.com") != lower)
        #expect(try DNSName("example.or") != lower)
        // Case folding is ASCII only: "[" (0x5B) must not equal "{" (0x7B).
        #expect(try DNSName("[") != DNSName("{"))
    }

    @Test func labelAndNameLimits() throws {
        let label63 = String(repeating: "a", count: 63)
        #expect(try DNSName("\(label63).org").labelCount == 2)
        #expect(throws: DNSWireError.labelTooLong(length: 64)) {
            try DNSName(String(repeating: "a", count: 64) + ".org")
        }
        // 64 + 64 + 64 + 62 + 1 = 255 bytes in wire form: the largest name allowed.
        let longest = [label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: ".")
        #expect(try DNSName(longest).wireBytes.count == 255)
        #expect(throws: DNSWireError.nameTooLong(length: 256)) {
            try DNSName(longest + "b")
        }
    }

    @Test func rejectsEmptyLabels() {
        for text in ["", "a..b", ".a", "a..", ".."] {
            #expect(throws: DNSWireError.emptyLabel(name: text), "\(text)") {
                try DNSName(text)
            }
        }
    }

    @Test func escapes() throws {
        let dotted = try DNSName(#"a\.b.example"#)
        #expect(dotted.labelCount == 2)
        #expect(dotted.labels.first == Array("a.b".utf8))
        #expect(dotted.description == #"a\.b.example."#)

        let decimal = try DNSName(#"\065bc.\000\032x"#)
        #expect(decimal.wireBytes == [3, 0x41, 0x62, 0x63, 3, 0x00, 0x20, 0x78, 0])
        #expect(decimal.description == #"Abc.\000\ x."#)
        #expect(try DNSName(decimal.description) == decimal)

        for bad in [#"a\"#, #"\25"#, #"\256"#, #"\2a5"#] {
            #expect(throws: DNSWireError.invalidEscape(name: bad), "\(bad)") {
                try DNSName(bad)
            }
        }
    }

    @Test func subdomains() throws {
        let zone = try DNSName("example.org")
        #expect(try DNSName("www.example.org").isSubdomain(of: zone))
        #expect(try DNSName("a.b.Example.ORG").isSubdomain(of: zone))
        #expect(zone.isSubdomain(of: zone))
        #expect(try DNSName("EXAMPLE.org.").isSubdomain(of: zone))
        #expect(zone.isSubdomain(of: .root))
        #expect(DNSName.root.isSubdomain(of: .root))
        #expect(!DNSName.root.isSubdomain(of: zone))
        #expect(!(try DNSName("notexample.org")).isSubdomain(of: zone))
        #expect(!(try DNSName("org")).isSubdomain(of: zone))
        #expect(!zone.isSubdomain(of: try DNSName("www.example.org")))
        #expect(!(try DNSName("example.org.net")).isSubdomain(of: zone))
        // A label that merely ends in the zone's bytes is not a boundary: "x\.example.org" is one label "x.example".
        #expect(!(try DNSName(#"x\.example.org"#)).isSubdomain(of: try DNSName("example.org")))
    }

    @Test func scannerReadsCompressedNamesFromTheResponse() throws {
        let bytes = WireFixtures.response
        // The ns1 glue record's owner at 161 is c09b: "ns1" inside the second NS record's data, then c00c.
        let (glue, glueEnd) = try WireNameScanner.readName(bytes, at: 161)
        #expect(glue.description == "ns1.example.org.")
        #expect(glue.wireBytes == [3] + Array("ns1".utf8) + Self.exampleOrgWire)
        #expect(glueEnd == 163)
        let extent = try WireNameScanner.scan(bytes.span, at: 161)
        #expect(extent.isCompressed)
        #expect(extent.wireLength == 17)
        let (question, questionEnd) = try WireNameScanner.readName(bytes, at: 12)
        #expect(question.wireBytes == Self.exampleOrgWire)
        #expect(questionEnd == 25)
        #expect(!(try WireNameScanner.scan(bytes.span, at: 12)).isCompressed)
    }
}
