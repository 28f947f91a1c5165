import Testing
@testable import DnsServiceBridge

@Suite struct GoDurationTests {
    @Test(arguments: [
        ("0", Duration.zero),
        ("500ms", .milliseconds(500)),
        ("0.5s", .milliseconds(500)),
        (".5s", .milliseconds(500)),
        ("10s", .seconds(10)),
        ("1m30s", .seconds(90)),
        ("2h", .seconds(7200)),
        ("1h2m3s4ms5us6ns", .nanoseconds(3_723_004_005_006)),
        ("1.5h", .seconds(5400)),
        ("100\u{00B5}s", .microseconds(100)),
        ("+3s", .seconds(3)),
        ("-3s", .seconds(-3)),
    ])
    func parsesGoSyntax(text: String, expected: Duration) {
        #expect(GoDuration.parse(text) == expected)
    }

    @Test(arguments: ["", "10", "ten", "1x", "s", ".s", "1.2.3s", "5 s", "-", "10S", "99999999999h"])
    func rejectsBadSyntax(text: String) {
        #expect(GoDuration.parse(text) == nil)
    }
}
