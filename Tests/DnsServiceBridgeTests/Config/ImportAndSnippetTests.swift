import Testing
@testable import DnsServiceBridge

@Suite struct ImportAndSnippetTests {
    @Test func globImportsEveryMatchInSortedOrderRelativeToTheImportingFile() throws {
        let directory = try TemporaryDirectory()
        let b = try directory.write("conf.d/b.conf", "b.example:15353 {\n    whoami\n}\n")
        let a = try directory.write("conf.d/a.conf", "a.example:15353 {\n    import ../common/opts\n}\n")
        try directory.write("conf.d/ignored.txt", "this is not imported {\n")
        try directory.write("conf.d/sub.conf/keep", "directories matched by a glob are skipped\n")
        let opts = try directory.write("common/opts", "forward . 127.0.0.1:10053\nlog\n")
        let corefile = try directory.write("Corefile", "import conf.d/*.conf\n")

        let configuration = try ConfigurationLoader.load(file: corefile, environment: [:])
        #expect(configuration == Configuration(servers: [
            serverBlock([ListenAddress(zone: "a.example.", port: 15353)], file: a) {
                $0.forwarders = [forwarder([dnsUpstream("127.0.0.1", 10053)], line: 1, file: opts)]
                $0.log = [LogConfiguration()]
            },
            serverBlock([ListenAddress(zone: "b.example.", port: 15353)], file: b) { $0.whoami = true },
        ]))
    }

    @Test func globMatchingNothingIsAWarning() throws {
        let directory = try TemporaryDirectory()
        let configuration = try parseCorefile(
            ".:15353 {\n    whoami\n    import extra/*.conf\n}\n", workingDirectory: directory.path)
        #expect(configuration.servers == [serverBlock([ListenAddress(zone: ".", port: 15353)]) { $0.whoami = true }])
        #expect(configuration.warnings == [ConfigurationWarning(at: at(3), "import pattern 'extra/*.conf' matched no files")])
    }

    @Test func importInsideADirectiveBlock() throws {
        let directory = try TemporaryDirectory()
        try directory.write("forward-options", "force_tcp\nmax_fails 5\n")
        let configuration = try parseCorefile("""
            .:15353 {
                forward . 127.0.0.1 {
                    import forward-options
                    expire 20s
                }
            }
            """, workingDirectory: directory.path)
        #expect(configuration.servers[0].forwarders == [
            forwarder([dnsUpstream("127.0.0.1")], line: 2) {
                $0.forceTCP = true
                $0.maxFails = 5
                $0.expire = .seconds(20)
            },
        ])
    }

    @Test func missingImportFileIsAnError() throws {
        let directory = try TemporaryDirectory()
        let error = corefileError(".:15353 {\n    import missing.conf\n}\n", workingDirectory: directory.path)
        #expect(error == "Corefile:2: import file 'missing.conf' does not exist (looked for \(directory.path)/missing.conf); "
            + "expected an existing file, a glob, or the name of a snippet defined above")
    }

    @Test func importOfADirectoryIsAnError() throws {
        let directory = try TemporaryDirectory()
        try directory.write("conf.d/a.conf", "whoami\n")
        let error = corefileError(".:15353 {\n    import conf.d\n}\n", workingDirectory: directory.path)
        #expect(error == "Corefile:2: import file 'conf.d' is a directory (looked for \(directory.path)/conf.d); "
            + "expected an existing file, a glob, or the name of a snippet defined above")
    }

    @Test func importCycleThroughTwoFilesIsAnError() throws {
        let directory = try TemporaryDirectory()
        let first = try directory.write("first.conf", "import second.conf\n")
        let second = try directory.write("second.conf", "whoami\nimport first.conf\n")
        let error = corefileError(".:15353 {\n    import first.conf\n}\n", workingDirectory: directory.path)
        #expect(error == "\(second):2: import cycle Corefile -> \(first) -> \(second) -> \(first); "
            + "expected imports that never lead back to a file or snippet already being imported")
    }

    @Test func fileImportingTheCorefileIsACycle() throws {
        let directory = try TemporaryDirectory()
        let corefile = try directory.write("Corefile", ".:15353 {\n    import loop.conf\n}\n")
        let loop = try directory.write("loop.conf", "import Corefile\n")
        #expect(throws: ConfigurationError(
            at: SourceLocation(file: loop, line: 1), "import cycle \(corefile) -> \(loop) -> \(corefile)",
            expected: "imports that never lead back to a file or snippet already being imported")
        ) {
            try ConfigurationLoader.load(file: corefile, environment: [:])
        }
    }

    @Test func snippetsAreDefinedOnceAndImportedByName() throws {
        let configuration = try parseCorefile("""
            (upstreams) {
                forward . 127.0.0.1:10053 127.0.0.2:10053 {
                    policy sequential
                }
            }
            (observability) {
                log
                errors
                import upstreams
            }
            example.org:15353 {
                import observability
            }
            example.net:15353 {
                import upstreams
            }
            """)
        let forward = { (line: Int) in
            forwarder([dnsUpstream("127.0.0.1", 10053), dnsUpstream("127.0.0.2", 10053)], line: line) {
                $0.policy = .sequential
            }
        }
        #expect(configuration.servers == [
            serverBlock([ListenAddress(zone: "example.org.", port: 15353)], line: 11) {
                $0.log = [LogConfiguration()]
                $0.errors = ErrorsConfiguration()
                $0.forwarders = [forward(2)]
            },
            serverBlock([ListenAddress(zone: "example.net.", port: 15353)], line: 14) { $0.forwarders = [forward(2)] },
        ])
    }

    @Test func snippetImportingItselfIsACycle() {
        let error = corefileError("(a) {\n    import b\n}\n(b) {\n    import a\n}\n.:15353 {\n    import a\n}\n")
        #expect(error == "Corefile:5: import cycle Corefile -> (a) -> (b) -> (a); "
            + "expected imports that never lead back to a file or snippet already being imported")
    }

    @Test func snippetDefinedTwiceIsAnError() {
        let error = corefileError("(a) {\n    log\n}\n(a) {\n    whoami\n}\n.:15353 {\n    import a\n}\n")
        #expect(error == "Corefile:4: snippet 'a' is already defined at Corefile:1; expected each snippet name once")
    }

    @Test func snippetWithoutBodyIsAnError() {
        #expect(corefileError("(a)\n.:15353 {\n    whoami\n}\n")
            == "Corefile:1: snippet '(a)' has no body; expected '(a) {' followed by the snippet's lines and a closing '}'")
    }

    @Test func environmentInImportedFilesAndImportPaths() throws {
        let directory = try TemporaryDirectory()
        try directory.write("zones/example.conf", "{$ZONE}:15353 {\n    forward . {$UPSTREAM}\n}\n")
        let configuration = try parseCorefile(
            "import {$CONF_DIR}/*.conf\n", environment: ["CONF_DIR": "zones", "ZONE": "example.org", "UPSTREAM": "127.0.0.7:10053"],
            workingDirectory: directory.path)
        #expect(configuration.servers.map(\.keys) == [[ListenAddress(zone: "example.org.", port: 15353)]])
        #expect(configuration.servers[0].forwarders[0].upstreams == [dnsUpstream("127.0.0.7", 10053)])
    }
}
