import Testing

@testable import DnsServiceBridge

@Suite struct DNSCodeNameTests {
    @Test func responseCodeNamesFollowMiekg() {
        let expected: [(DNSResponseCode, String)] = [
            (.noError, "NOERROR"), (.formErr, "FORMERR"), (.servFail, "SERVFAIL"), (.nxDomain, "NXDOMAIN"),
            (.notImp, "NOTIMP"), (.refused, "REFUSED"), (.yxDomain, "YXDOMAIN"), (.yxRRSet, "YXRRSET"),
            (.nxRRSet, "NXRRSET"), (.notAuth, "NOTAUTH"), (.notZone, "NOTZONE"), (.dsoTypeNI, "DSOTYPENI"),
            (.badVers, "BADSIG"), (.badCookie, "BADCOOKIE"),
        ]
        for (code, name) in expected {
            #expect(code.description == name)
        }
        #expect(DNSResponseCode(rawValue: 12).description == "12")
        #expect(DNSResponseCode(rawValue: 4000).description == "4000")
    }

    @Test func responseCodeSplitsIntoHeaderAndExtendedBits() {
        let code = DNSResponseCode(rawValue: 0x0ABC)
        #expect(code.headerBits == 0x000C)
        #expect(code.extendedBits == 0xAB)
        #expect(DNSResponseCode(rawValue: 0xFFFF).rawValue == 0x0FFF)
        #expect(DNSResponseCode.badVers.rawValue == 16)
    }

    @Test func recordTypeNames() {
        let expected: [(DNSRecordType, UInt16, String)] = [
            (.a, 1, "A"), (.ns, 2, "NS"), (.cname, 5, "CNAME"), (.soa, 6, "SOA"), (.ptr, 12, "PTR"),
            (.mx, 15, "MX"), (.txt, 16, "TXT"), (.aaaa, 28, "AAAA"), (.srv, 33, "SRV"), (.opt, 41, "OPT"),
            (.ds, 43, "DS"), (.rrsig, 46, "RRSIG"), (.dnskey, 48, "DNSKEY"), (.svcb, 64, "SVCB"),
            (.https, 65, "HTTPS"), (.axfr, 252, "AXFR"), (.any, 255, "ANY"), (.caa, 257, "CAA"),
        ]
        for (type, number, name) in expected {
            #expect(type.rawValue == number)
            #expect(type.description == name)
        }
        #expect(DNSRecordType(rawValue: 23).description == "NSAP-PTR")
        #expect(DNSRecordType(rawValue: 123).description == "TYPE123")
        #expect(DNSRecordType(rawValue: 65535).description == "TYPE65535")
    }

    @Test func questionDescription() throws {
        #expect(DNSQuestion(name: try DNSName("Example.org"), type: .aaaa).description == "Example.org. IN AAAA")
        #expect(DNSQuestion(name: .root, type: .ns, qclass: 3).description == ". CH NS")
        #expect(DNSQuestion(name: .root, type: .a, qclass: 7).description == ". CLASS7 A")
    }

    @Test func questionsCompareNamesIgnoringCase() throws {
        let lower = DNSQuestion(name: try DNSName("example.org"), type: .a)
        #expect(lower == DNSQuestion(name: try DNSName("EXAMPLE.org."), type: .a))
        #expect(lower != DNSQuestion(name: try DNSName("example.org"), type: .aaaa))
        #expect(lower != DNSQuestion(name: try DNSName("example.org"), type: .a, qclass: 3))
    }
}
