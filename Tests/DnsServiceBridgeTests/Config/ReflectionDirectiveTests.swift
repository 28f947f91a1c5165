import Testing
@testable import DnsServiceBridge

/// `reflection on|off`: on by default, off per block, off wins on a shared listener, errors say what was expected.
@Suite struct ReflectionDirectiveTests {
    @Test func onByDefaultAndTurnedOffOrOnPerBlock() throws {
        let configuration = try parseCorefile("""
            grpc://.:15553 {
                whoami
            }
            grpc://example.org:15554 {
                reflection off
                whoami
            }
            grpc://example.net:15555 {
                reflection on
                whoami
            }
            """)
        #expect(configuration.servers.map(\.reflection) == [true, false, true])
        #expect(configuration.warnings.isEmpty)
    }

    @Test func offInAnyBlockOnASharedListenerTurnsItOffThere() throws {
        let configuration = try parseCorefile("""
            grpc://example.org:15553 {
                whoami
            }
            grpc://.:15553 {
                reflection off
                whoami
            }
            """)
        var options = ListenerOptions()
        #expect(options.reflection)
        configuration.servers.forEach { options.take(from: $0) }
        #expect(!options.reflection)
    }

    @Test func anythingButOnOrOffIsAnErrorAtItsLine() {
        #expect(corefileError("grpc://.:15553 {\n    reflection maybe\n}\n")
            == "Corefile:2: reflection 'maybe' is not on or off; expected 'reflection on|off'")
        #expect(corefileError("grpc://.:15553 {\n    reflection\n}\n")
            == "Corefile:2: reflection is missing an argument; expected 'reflection on|off'")
        #expect(corefileError("grpc://.:15553 {\n    reflection off on\n}\n")
            == "Corefile:2: reflection has too many arguments (2); expected 'reflection on|off'")
        #expect(corefileError("grpc://.:15553 {\n    reflection off {\n    }\n}\n")
            == "Corefile:2: reflection takes no block; expected 'reflection on|off'")
        #expect(corefileError("grpc://.:15553 {\n    reflection off\n    reflection on\n}\n")
            == "Corefile:3: reflection is given twice in one server block (first at Corefile:2); expected at most "
            + "one reflection per server block")
    }

    @Test func onABlockWithoutAGRPCListenerItIsAcceptedWithAWarning() throws {
        let configuration = try parseCorefile(".:15353 {\n    reflection off\n    whoami\n}\n")
        #expect(configuration.warnings == [ConfigurationWarning(
            at: at(2), "reflection has no effect here: it applies to grpc:// listeners and this block has none")])
    }
}
