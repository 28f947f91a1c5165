import Testing
@testable import DnsServiceBridge

@Suite struct PortClashCheckTests {
    @Test(arguments: [
        (".:5300 {\n    whoami\n}\ngrpc://.:5300 {\n    whoami\n}\n",
         "Corefile:4: grpc://*:5300 uses the TCP port of dns://*:5300 at Corefile:1; expected a port of its own for "
            + "each listener and endpoint"),
        ("tls://.:5300 {\n    tls a b\n    whoami\n}\n.:5300 {\n    bind 127.0.0.1\n    whoami\n}\n",
         "Corefile:5: dns://127.0.0.1:5300 uses the TCP port of tls://*:5300 at Corefile:1; expected a port of its "
            + "own for each listener and endpoint"),
        ("grpc://.:9153 {\n    whoami\n}\n.:53 {\n    prometheus\n    whoami\n}\n",
         "Corefile:4: prometheus localhost:9153 uses the TCP port of grpc://*:9153 at Corefile:1; expected a port of "
            + "its own for each listener and endpoint"),
        (".:53 {\n    health :8080\n    ready 127.0.0.1:8080\n    whoami\n}\n",
         "Corefile:1: ready 127.0.0.1:8080 uses the TCP port of health :8080 at Corefile:1; expected a port of its "
            + "own for each listener and endpoint"),
    ])
    func twoServersOnOnePortAreRefused(corefile: String, error: String) {
        #expect(corefileError(corefile.replacingOccurrences(of: "tls a b", with: "tls /dev/null /dev/null"))
            == error)
    }

    @Test(arguments: [
        // Keys of one scheme share a listener, whatever their zones.
        "example.org:5300 {\n    whoami\n}\nexample.net:5300 {\n    whoami\n}\n",
        // Different addresses, one port.
        "grpc://.:5300 {\n    bind 127.0.0.1\n    whoami\n}\n.:5300 {\n    bind 127.0.0.2\n    whoami\n}\n",
        // Port 0 takes a free port each time.
        "grpc://.:0 {\n    whoami\n}\n.:0 {\n    prometheus :0\n    whoami\n}\n",
        // One endpoint address named by several directives and blocks is one HTTP server.
        ".:53 {\n    prometheus :9153\n    health :9153\n    whoami\n}\n.:54 {\n    prometheus :9153\n    whoami\n}\n",
        // localhost and another address on one port do not meet.
        "grpc://.:9153 {\n    bind 10.0.0.1\n    whoami\n}\n.:53 {\n    prometheus\n    whoami\n}\n",
    ])
    func serversThatCanShareAPortAreAccepted(corefile: String) {
        #expect(corefileError(corefile) == nil)
    }
}
