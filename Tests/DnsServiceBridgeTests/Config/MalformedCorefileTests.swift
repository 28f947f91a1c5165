import Testing
@testable import DnsServiceBridge

/// One Corefile that must be refused, and the exact message.
struct MalformedCase: CustomTestStringConvertible, Sendable {
    var name: String
    var corefile: String
    var error: String
    var environment: [String: String] = [:]

    var testDescription: String { name }
}

private let allDirectives = "bind, cache, errors, forward, grpc, health, hosts, limits, loadbalance, log, loop, prometheus, proxy, "
    + "ratelimit, ready, reflection, reload, timeouts, tls, trusted_proxies, unix_socket, whoami"
private let forwardOptions = "channels, client_subnet, doh_method, except, expire, failfast_all_unhealthy_upstreams, force_tcp, "
    + "health_check, keepalive, max_concurrent, max_fails, max_idle_conns, multiplex_udp, next, policy, prefer_udp, "
    + "send_client_address, tls, tls_servername, weights"
private let durationHint = "a non-negative duration in Go syntax, such as 500ms, 10s or 1m30s"
private let sixteen = (1...16).map { "127.0.0.\($0)" }.joined(separator: " ")

@Suite struct MalformedCorefileTests {
    static let cases: [MalformedCase] = [
        MalformedCase(
            name: "unclosed server block brace",
            corefile: ".:15353 {\n    whoami\n",
            error: "Corefile:1: unclosed '{'; expected a matching '}' before the end of the file"),
        MalformedCase(
            name: "unclosed brace after a closed inner block",
            corefile: ".:15353 {\n    forward . 127.0.0.1 {\n        force_tcp\n}\n",
            error: "Corefile:1: unclosed '{'; expected a matching '}' before the end of the file"),
        MalformedCase(
            name: "unclosed directive brace in the last block",
            corefile: ".:15353 {\n    whoami\n}\n.:15354 {\n    forward . 127.0.0.1 {\n",
            error: "Corefile:5: unclosed '{'; expected a matching '}' before the end of the file"),
        MalformedCase(
            name: "stray closing brace",
            corefile: ".:15353 {\n    whoami\n}\n}\n",
            error: "Corefile:4: unexpected '}' without a matching '{'; expected a directive, a server block, or the end of the file"),
        MalformedCase(
            name: "stray closing brace in a brace-less block",
            corefile: ".:15353\nwhoami\n}\n",
            error: "Corefile:3: unexpected '}' without a matching '{'; expected a directive, a server block, or the end of the file"),
        MalformedCase(
            name: "unknown directive",
            corefile: "# comment\n.:15353 {\n    whoami\n    log\n    errors\n    cache 30\n    foo bar\n}\n",
            error: "Corefile:7: unknown directive 'foo'; expected one of \(allDirectives)"),
        MalformedCase(
            name: "unknown forward option",
            corefile: ".:15353 {\n    forward . 127.0.0.1 {\n        bogus 1\n    }\n}\n",
            error: "Corefile:3: unknown option 'bogus' in forward; expected one of \(forwardOptions)"),
        MalformedCase(
            name: "unknown grpc option",
            corefile: ".:15353 {\n    grpc . 127.0.0.1:15443 {\n        force_tcp\n    }\n}\n",
            error: "Corefile:3: unknown option 'force_tcp' in grpc; expected one of channels, client_subnet, except, fallthrough, "
                + "keepalive, policy, send_client_address, tls, tls_servername"),
        MalformedCase(
            name: "unknown proxy option",
            corefile: ".:15353 {\n    proxy . 127.0.0.1 {\n        expire 10s\n    }\n}\n",
            error: "Corefile:3: unknown option 'expire' in proxy; expected one of except, fail_timeout, health_check, max_fails, policy, protocol, spray"),
        MalformedCase(
            name: "unknown health option",
            corefile: ".:15353 {\n    health {\n        lameduk 5s\n    }\n}\n",
            error: "Corefile:3: unknown option 'lameduk' in health; expected one of lameduck"),
        MalformedCase(
            name: "port out of range in a key",
            corefile: ".:99999 {\n    whoami\n}\n",
            error: "Corefile:1: bad port '99999' in server block key '.:99999'; expected a port number from 0 to 65535"),
        MalformedCase(
            name: "port not a number in a key",
            corefile: "example.org:dns {\n    whoami\n}\n",
            error: "Corefile:1: bad port 'dns' in server block key 'example.org:dns'; expected a port number from 0 to 65535"),
        MalformedCase(
            name: "port zero in an upstream",
            corefile: ".:15353 {\n    forward . 127.0.0.1:0\n}\n",
            error: "Corefile:2: bad port '0' in upstream '127.0.0.1:0'; expected a port number from 1 to 65535"),
        MalformedCase(
            name: "bad prometheus address",
            corefile: ".:15353 {\n    prometheus 9153\n}\n",
            error: "Corefile:2: bad prometheus address '9153'; expected HOST:PORT or :PORT, such as localhost:9153, :8080 or [::1]:8181"),
        MalformedCase(
            name: "bad expire duration",
            corefile: ".:15353 {\n    forward . 127.0.0.1 {\n        expire ten\n    }\n}\n",
            error: "Corefile:3: bad duration 'ten' for expire; expected \(durationHint)"),
        MalformedCase(
            name: "duration without unit",
            corefile: ".:15353 {\n    forward . 127.0.0.1 {\n        health_check 5\n    }\n}\n",
            error: "Corefile:3: bad duration '5' for health_check; expected \(durationHint)"),
        MalformedCase(
            name: "negative duration",
            corefile: ".:15353 {\n    health :18080 {\n        lameduck -1s\n    }\n}\n",
            error: "Corefile:3: bad duration '-1s' for lameduck; expected \(durationHint)"),
        MalformedCase(
            name: "sixteen upstreams",
            corefile: ".:15353 {\n    forward . \(sixteen)\n}\n",
            error: "Corefile:2: forward has 16 upstreams; expected at most 15 upstreams per forward"),
        MalformedCase(
            name: "missing server certificate file",
            corefile: "tls://.:18853 {\n    tls /nonexistent/cert.pem /nonexistent/key.pem\n}\n",
            error: "Corefile:2: TLS certificate file '/nonexistent/cert.pem' does not exist; expected an existing, readable file"),
        MalformedCase(
            name: "missing forward CA file",
            corefile: ".:15353 {\n    forward . tls://127.0.0.1 {\n        tls /nonexistent/ca.pem\n    }\n}\n",
            error: "Corefile:3: TLS CA file '/nonexistent/ca.pem' does not exist; expected an existing, readable file"),
        MalformedCase(
            name: "forward tls with four arguments",
            corefile: ".:15353 {\n    forward . tls://127.0.0.1 {\n        tls a b c d\n    }\n}\n",
            error: "Corefile:3: tls has too many arguments (4); expected 'tls [CERT KEY [CA]] or tls CA'"),
        MalformedCase(
            name: "server tls with one argument",
            corefile: "tls://.:18853 {\n    tls cert.pem\n}\n",
            error: "Corefile:2: tls is missing an argument; expected 'tls CERT KEY [CA]'"),
        MalformedCase(
            name: "zone key with an empty label",
            corefile: "exa..mple.org {\n    whoami\n}\n",
            error: "Corefile:1: bad server block key: 'exa..mple.org' is not a valid zone: it has an empty label; "
                + "expected a domain name such as example.org, '.', or a CIDR such as 10.0.0.0/24"),
        MalformedCase(
            name: "zone key with a long label",
            corefile: "\(String(repeating: "a", count: 64)).org {\n    whoami\n}\n",
            error: "Corefile:1: bad server block key: '\(String(repeating: "a", count: 64)).org' is not a valid zone: "
                + "label '\(String(repeating: "a", count: 64))' is longer than 63 bytes; "
                + "expected a domain name such as example.org, '.', or a CIDR such as 10.0.0.0/24"),
        MalformedCase(
            name: "CIDR key with a bad prefix",
            corefile: "10.0.0.0/33 {\n    whoami\n}\n",
            error: "Corefile:1: bad server block key: '10.0.0.0/33' has a bad prefix length '33'; expected a CIDR prefix length from 0 to 32"),
        MalformedCase(
            name: "IPv6 address key without prefix",
            corefile: "fd00::1 {\n    whoami\n}\n",
            error: "Corefile:1: server block key 'fd00::1' is an IPv6 address without a prefix length; "
                + "expected a reverse zone written as a CIDR, such as 2001:db8::/32"),
        MalformedCase(
            name: "unsupported key scheme",
            corefile: "quic://example.org {\n    whoami\n}\n",
            error: "Corefile:1: unsupported scheme 'quic' in server block key 'quic://example.org'; expected dns://, tls://, grpc:// or https://"),
        MalformedCase(
            name: "unknown forward policy",
            corefile: ".:15353 {\n    forward . 127.0.0.1 {\n        policy fastest\n    }\n}\n",
            error: "Corefile:3: unknown policy 'fastest' for forward; expected one of random, round_robin, sequential, least_conn, weighted, first, "
                + "least_outstanding"),
        MalformedCase(
            name: "grpc does not have least_conn",
            corefile: ".:15353 {\n    grpc . 127.0.0.1:15443 {\n        policy least_conn\n    }\n}\n",
            error: "Corefile:3: unknown policy 'least_conn' for grpc; expected one of random, round_robin, sequential, least_outstanding"),
        MalformedCase(
            name: "max_fails not a number",
            corefile: ".:15353 {\n    forward . 127.0.0.1 {\n        max_fails two\n    }\n}\n",
            error: "Corefile:3: max_fails 'two' is not a number; expected a non-negative integer"),
        MalformedCase(
            name: "max_fails negative",
            corefile: ".:15353 {\n    forward . 127.0.0.1 {\n        max_fails -1\n    }\n}\n",
            error: "Corefile:3: max_fails -1 is out of range; expected a non-negative integer"),
        MalformedCase(
            name: "unset environment variable",
            corefile: ".:15353 {\n    forward . {$UPSTREAM}\n}\n",
            error: "Corefile:2: environment variable 'UPSTREAM' is not set or is empty; expected a non-empty value for {$UPSTREAM}"),
        MalformedCase(
            name: "empty environment variable",
            corefile: "{$ZONE}:15353 {\n    whoami\n}\n",
            error: "Corefile:1: environment variable 'ZONE' is not set or is empty; expected a non-empty value for {$ZONE}",
            environment: ["ZONE": ""]),
        MalformedCase(
            name: "same zone and port twice",
            corefile: "example.org:15353 {\n    whoami\n}\nEXAMPLE.org.:15353 {\n    whoami\n}\n",
            error: "Corefile:4: dns://example.org.:15353 is already served by the server block key at Corefile:1; "
                + "expected each zone, scheme and port in one server block only"),
        MalformedCase(
            name: "same zone and default port twice in one block",
            corefile: ". .:53 {\n    whoami\n}\n",
            error: "Corefile:1: dns://.:53 is already served by the server block key at Corefile:1; "
                + "expected each zone, scheme and port in one server block only"),
        MalformedCase(
            name: "bound and unbound blocks overlap",
            corefile: ".:15353 {\n    bind 127.0.0.1\n    whoami\n}\n.:15353 {\n    whoami\n}\n",
            error: "Corefile:5: dns://.:15353 on every address overlaps the same zone bound to 127.0.0.1 at Corefile:1; "
                + "expected the same bind addresses for every block serving this zone and port"),
        MalformedCase(
            name: "directive given twice",
            corefile: ".:15353 {\n    cache 30\n    cache 60\n}\n",
            error: "Corefile:3: cache is given twice in one server block (first at Corefile:2); expected at most one cache per server block"),
        MalformedCase(
            name: "forward without TO",
            corefile: ".:15353 {\n    forward .\n}\n",
            error: "Corefile:2: forward needs FROM and at least one TO; expected 'forward FROM TO... [{ options }]'"),
        MalformedCase(
            name: "upstream host name",
            corefile: ".:15353 {\n    forward . dns.google\n}\n",
            error: "Corefile:2: upstream 'dns.google' is not an IP address or an existing file; "
                + "expected IP[:PORT], [IPv6]:PORT, tls://IP[#NAME][:PORT], grpc://IP[:PORT] or a resolv.conf path"),
        MalformedCase(
            name: "unsupported upstream scheme",
            corefile: ".:15353 {\n    forward . quic://127.0.0.1\n}\n",
            error: "Corefile:2: unsupported upstream scheme 'quic' in 'quic://127.0.0.1'; expected dns://, tls://, grpc:// or https://"),
        MalformedCase(
            name: "server name on a plain DNS upstream",
            corefile: ".:15353 {\n    forward . 127.0.0.1#dns.example\n}\n",
            error: "Corefile:2: upstream '127.0.0.1#dns.example' names a TLS server but is not tls:// or grpc://; "
                + "expected '#NAME' only on tls://, grpc:// and https:// upstreams"),
        MalformedCase(
            name: "tls_servername and per-upstream name together",
            corefile: ".:15353 {\n    forward . tls://127.0.0.1#a.example {\n        tls_servername b.example\n    }\n}\n",
            error: "Corefile:2: both tls_servername 'b.example' and upstream tls://127.0.0.1:853 name a TLS server; "
                + "expected either tls_servername or per-upstream '#NAME', not both"),
        MalformedCase(
            name: "weights without weighted policy",
            corefile: ".:15353 {\n    forward . 127.0.0.1 127.0.0.2 {\n        weights 1 2\n    }\n}\n",
            error: "Corefile:3: weights are given but the policy is random; expected 'policy weighted' with weights"),
        MalformedCase(
            name: "weights count differs from upstreams",
            corefile: ".:15353 {\n    forward . 127.0.0.1 127.0.0.2 {\n        policy weighted\n        weights 3\n    }\n}\n",
            error: "Corefile:4: weights has 1 values for 2 upstreams; expected one weight per upstream (2)"),
        MalformedCase(
            name: "bad next rcode",
            corefile: ".:15353 {\n    forward . 127.0.0.1 {\n        next NXDOMAIN NOPE\n    }\n}\n",
            error: "Corefile:3: 'NOPE' is not a response code; expected names such as NXDOMAIN, SERVFAIL or REFUSED"),
        MalformedCase(
            name: "argument to a flag option",
            corefile: ".:15353 {\n    forward . 127.0.0.1 {\n        force_tcp yes\n    }\n}\n",
            error: "Corefile:3: force_tcp has too many arguments (1); expected 'force_tcp'"),
        MalformedCase(
            name: "whoami with an argument",
            corefile: ".:15353 {\n    whoami please\n}\n",
            error: "Corefile:2: whoami has too many arguments (1); expected 'whoami'"),
        MalformedCase(
            name: "reload interval too short",
            corefile: ".:15353 {\n    reload 1s\n}\n",
            error: "Corefile:2: reload interval '1s' is too short; expected at least 2s"),
        MalformedCase(
            name: "hosts word that is neither option nor entry",
            corefile: ".:15353 {\n    hosts {\n        ttll 60\n    }\n}\n",
            error: "Corefile:3: unknown option 'ttll' in hosts; expected an inline 'ADDRESS NAME...' entry or one of "
                + "fallthrough, no_reverse, reload, ttl"),
        MalformedCase(
            name: "hosts inline entry after fallthrough",
            corefile: ".:15353 {\n    hosts {\n        fallthrough\n        127.0.0.5 a.example\n    }\n}\n",
            error: "Corefile:4: inline hosts entry for 127.0.0.5 comes after fallthrough; "
                + "expected inline entries before fallthrough, as CoreDNS reads them only there"),
        MalformedCase(
            name: "second block without braces",
            corefile: ".:15353 {\n    whoami\n}\nexample.org:15353\nwhoami\n",
            error: "Corefile:4: server block 'example.org:15353' has no '{'; "
                + "expected '{' after the keys (only a Corefile with a single server block may leave out braces)"),
        MalformedCase(
            name: "text after a closing brace",
            corefile: ".:15353 {\n    forward . 127.0.0.1 {\n        force_tcp\n    } log\n}\n",
            error: "Corefile:4: unexpected 'log' after '}'; expected a line break after a block's closing '}'"),
        MalformedCase(
            name: "import with two arguments",
            corefile: ".:15353 {\n    import a.conf b.conf\n}\n",
            error: "Corefile:2: import takes exactly one argument, found 2; expected 'import FILE', 'import GLOB' or 'import SNIPPET'"),
        MalformedCase(
            name: "missing import file",
            corefile: ".:15353 {\n    whoami\n    import /nonexistent/extra.conf\n}\n",
            error: "Corefile:3: import file '/nonexistent/extra.conf' does not exist (looked for /nonexistent/extra.conf); "
                + "expected an existing file, a glob, or the name of a snippet defined above"),
        MalformedCase(
            name: "import cycle through a snippet",
            corefile: "(loop) {\n    whoami\n    import loop\n}\n.:15353 {\n    import loop\n}\n",
            error: "Corefile:3: import cycle Corefile -> (loop) -> (loop); "
                + "expected imports that never lead back to a file or snippet already being imported"),
        MalformedCase(
            name: "empty Corefile",
            corefile: "# nothing here\n",
            error: "Corefile: no server blocks; expected at least one server block, such as '. { forward . 127.0.0.1 }'"),
        MalformedCase(
            name: "trailing comma after the last key",
            corefile: ".:15353,",
            error: "Corefile:1: the last server block key ends with ','; expected another key after the comma"),
    ]

    @Test(arguments: cases)
    func refusesWithExactMessage(_ testCase: MalformedCase) {
        #expect(corefileError(testCase.corefile, environment: testCase.environment) == testCase.error)
    }

    @Test func missingCorefileNamesIt() {
        #expect(throws: ConfigurationError(
            at: SourceLocation(file: "/nonexistent/Corefile", line: 0), "Corefile '/nonexistent/Corefile' does not exist",
            expected: "an existing, readable Corefile")
        ) {
            try ConfigurationLoader.load(file: "/nonexistent/Corefile", environment: [:])
        }
    }
}
