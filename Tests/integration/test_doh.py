"""DNS over HTTPS (RFC 8484) both ways (issue 19): our https:// listener asked by independent clients (kdig, curl,
dnsperf, dnspython with httpx), with mutual TLS and plain HTTP; bad requests and HTTP/2 floods; our DoH upstream
against dnsdist's DoH frontend and against our own listener."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import pytest

import support

C = support.cert_path
QUERIES = [("www.example.org.", "A"), ("example.org.", "MX"), ("nope.example.org.", "A"), ("big.example.org.", "TXT")]
KDIG_TLS = (f"+tls-ca={C('ca.pem')}", "+tls-hostname=localhost")


def same(got: support.DigResult, expected: support.DigResult) -> None:
    assert (got.rcode, got.answer, got.authority) == (expected.rcode, expected.answer, expected.authority), \
        f"{got.text}\n--- expected ---\n{expected.text}"


def start(dnsgrpcd, tmp_path, text: str, port: int, name: str = "doh"):
    corefile = support.write_corefile(tmp_path / name, text)
    return dnsgrpcd("-conf", corefile, "--log-level", "debug", wait_for=[f"127.0.0.1:{port}"], name=name)


@pytest.fixture
def doh(dnsgrpcd, knot, tmp_path) -> str:
    """Our DoH listener (TLS, HTTP/2 or HTTP/1.1) forwarding to knotd; HOST:PORT."""
    port, metrics = support.free_port(), support.free_port()
    start(dnsgrpcd, tmp_path, f"""
        https://.:{port} {{
            bind 127.0.0.1
            tls {C('server.pem')} {C('server-key.pem')}
            forward . {knot.addr}
            prometheus 127.0.0.1:{metrics}
        }}
        """, port)
    return f"127.0.0.1:{port}"


@pytest.mark.parametrize("method", ["+https", "+https-get"])
@pytest.mark.parametrize("name,rdtype", QUERIES, ids=[f"{n}{t}" for n, t in QUERIES])
def test_kdig_over_https_gets_knots_answers(doh, knot, method, name, rdtype):
    got = support.kdig(doh, name, rdtype, method, *KDIG_TLS)
    assert "HTTP/2" in got.text, got.text
    same(got, support.dig(knot.addr, name, rdtype))


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-s", "--max-time", "15", "--cacert", C("ca.pem"), *args], capture_output=True,
                          timeout=30)


@pytest.mark.parametrize("http", ["--http1.1", "--http2"])
def test_curl_post_and_get_of_dns_messages(doh, knot, tmp_path, http):
    port = doh.split(":")[1]
    query = dns.message.make_query("www.example.org", "A")
    query.id = 0
    body = tmp_path / "query.bin"
    body.write_bytes(query.to_wire())
    posted = curl(http, "-H", "content-type: application/dns-message", "--data-binary", f"@{body}",
                  "-D", "-", f"https://localhost:{port}/dns-query")
    head, _, payload = posted.stdout.partition(b"\r\n\r\n")
    assert posted.returncode == 0 and head.startswith(b"HTTP/"), posted
    assert b"content-type: application/dns-message" in head.lower()
    assert b"cache-control: max-age=" in head.lower()
    reply = dns.message.from_wire(payload)
    assert support.rr_set(reply.answer) == support.dig(knot.addr, "www.example.org", "A").answer
    import base64
    encoded = base64.urlsafe_b64encode(query.to_wire()).rstrip(b"=").decode()
    got = curl(http, f"https://localhost:{port}/dns-query?dns={encoded}")
    assert dns.message.from_wire(got.stdout).rcode() == dns.rcode.NOERROR


def test_curl_resolves_through_doh_url(doh, tmp_path):
    """curl --doh-url resolves the host name it is given through our listener (the connection to it may fail)."""
    port = doh.split(":")[1]
    done = curl("-v", "--connect-timeout", "1", "--doh-url", f"https://localhost:{port}/dns-query",
                "http://www.example.org:9/")
    log = done.stderr.decode(errors="replace")
    # curl logs the addresses DoH gave it before it tries to connect.
    assert "192.0.2.10" in log or "192.0.2.11" in log, log


def test_dnspython_https_client(doh, knot):
    host, port = support.split_hostport(doh)
    ctx = ssl.create_default_context(cafile=C("ca.pem"))
    for name, rdtype in QUERIES[:3]:
        reply = dns.query.https(dns.message.make_query(name, rdtype), host, port=int(port), path="/dns-query",
                                verify=C("ca.pem"), timeout=15)
        expected = support.dig(knot.addr, name, rdtype)
        assert dns.rcode.to_text(reply.rcode()) == expected.rcode
        assert support.rr_set(reply.answer) == expected.answer
    del ctx


@pytest.mark.skipif(shutil.which("dnsperf") is None, reason="dnsperf is installed by scripts/install-deps.sh test")
def test_dnsperf_doh_briefly(doh, tmp_path):
    host, port = support.split_hostport(doh)
    queries = tmp_path / "queries.txt"
    queries.write_text("www.example.org A\nexample.org MX\nnope.example.org A\n")
    done = subprocess.run(["dnsperf", "-m", "doh", "-s", host, "-p", str(port), "-d", str(queries), "-l", "2",
                           "-c", "2", "-q", "20"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    completed = int(__import__("re").search(r"Queries completed:\s+(\d+)", done.stdout).group(1))
    lost = int(__import__("re").search(r"Queries lost:\s+(\d+)", done.stdout).group(1))
    assert completed > 100 and lost == 0, done.stdout


# --- bad requests: an HTTP error, never the engine -------------------------------------------------------------------

@pytest.mark.parametrize("case,args,status", [
    ("not base64url", ["https://localhost:{port}/dns-query?dns=%%%%"], 400),
    ("no dns parameter", ["https://localhost:{port}/dns-query"], 400),
    ("not a DNS query", ["-H", "content-type: application/dns-message", "--data-binary", "hello",
                         "https://localhost:{port}/dns-query"], 400),
    ("wrong content type", ["-H", "content-type: text/plain", "--data-binary", "hello",
                            "https://localhost:{port}/dns-query"], 415),
    ("wrong method", ["-X", "PUT", "https://localhost:{port}/dns-query"], 405),
    ("wrong path", ["https://localhost:{port}/resolve"], 404),
    ("body over 65535 bytes", ["-H", "content-type: application/dns-message", "--data-binary", "@{big}",
                               "https://localhost:{port}/dns-query"], 413),
])
def test_bad_requests_get_http_errors(doh, tmp_path, case, args, status):
    port = doh.split(":")[1]
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * 70000)
    for http in ("--http1.1", "--http2"):
        done = curl(http, "-o", "/dev/null", "-w", "%{http_code}", *[a.format(port=port, big=big) for a in args])
        assert done.stdout.decode() == str(status), (case, http, done)
    # The listener still answers.
    assert support.kdig(doh, "www.example.org.", "A", "+https", *KDIG_TLS).rcode == "NOERROR"


def h2_connection(addr: str):
    """A TLS connection speaking HTTP/2 (ALPN h2) and an h2 state machine, for frames no client library sends."""
    import h2.config
    import h2.connection
    host, port = support.split_hostport(addr)
    ctx = ssl.create_default_context(cafile=C("ca.pem"))
    ctx.set_alpn_protocols(["h2"])
    sock = ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=10), server_hostname="localhost")
    assert sock.selected_alpn_protocol() == "h2"
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    return sock, conn


def test_rapid_reset_flood_is_cut_off_and_others_unaffected(doh):
    sock, conn = h2_connection(doh)
    headers = [(":method", "GET"), (":scheme", "https"), (":authority", "localhost"),
               (":path", "/dns-query?dns=AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA29yZwAAAQAB")]
    closed = False
    try:
        for _ in range(2000):
            stream = conn.get_next_available_stream_id()
            conn.send_headers(stream, headers, end_stream=True)
            conn.reset_stream(stream)
            sock.sendall(conn.data_to_send())
    except (OSError, Exception):  # noqa: BLE001 - the server cutting the connection is the expected outcome
        closed = True
    if not closed:
        # The server sends GOAWAY (and closes) once the resets pass its limit: read until then.
        sock.settimeout(10)
        names: list[str] = []
        try:
            while "ConnectionTerminated" not in names:
                chunk = sock.recv(65535)
                if not chunk:
                    names.append("closed")
                    break
                names += [type(e).__name__ for e in conn.receive_data(chunk)]
        except socket.timeout:
            names.append("still open after 10 s")
        except OSError:
            names.append("closed")
        except Exception:  # noqa: BLE001 - frames after the GOAWAY: the connection is over, as wanted
            names.append("terminated")
        assert {"ConnectionTerminated", "closed", "terminated"} & set(names), names
    sock.close()
    # The queries it got in before the cut went upstream (two thousand at once can trip the upstream's own limits
    # for a moment); the listener answers others as soon as the upstream does.
    support.wait_until(lambda: support.kdig(doh, "www.example.org.", "A", "+https", *KDIG_TLS).rcode == "NOERROR",
                       timeout=30, what="answers after the flood")


def test_huge_headers_are_refused_and_others_unaffected(doh):
    sock, conn = h2_connection(doh)
    stream = conn.get_next_available_stream_id()
    conn.send_headers(stream, [(":method", "GET"), (":scheme", "https"), (":authority", "localhost"),
                               (":path", "/dns-query?dns=AAA"), ("x-filler", "x" * 60000)], end_stream=True)
    sock.sendall(conn.data_to_send())
    sock.settimeout(10)
    data = b""
    try:
        while len(data) < 1 << 20 and (chunk := sock.recv(65535)):
            data += chunk
            events = conn.receive_data(chunk)
            if any(type(e).__name__ in ("StreamReset", "ConnectionTerminated", "ResponseReceived") for e in events):
                names = [type(e).__name__ for e in events]
                assert "ResponseReceived" not in names or not any(
                    dict(getattr(e, "headers", []) or []).get(b":status") == b"200" for e in events), names
                break
    except OSError:
        pass
    sock.close()
    assert support.kdig(doh, "www.example.org.", "A", "+https", *KDIG_TLS).rcode == "NOERROR"


# --- TLS variants of the listener ----------------------------------------------------------------------------------

def test_mtls_doh_listener_wants_the_client_certificate(dnsgrpcd, knot, tmp_path):
    port = support.free_port()
    start(dnsgrpcd, tmp_path, f"""
        https://.:{port} {{
            bind 127.0.0.1
            tls {C('server.pem')} {C('server-key.pem')} {C('ca.pem')}
            forward . {knot.addr}
        }}
        """, port)
    addr = f"127.0.0.1:{port}"
    got = support.kdig(addr, "www.example.org.", "A", "+https", *KDIG_TLS, f"+tls-certfile={C('client.pem')}",
                       f"+tls-keyfile={C('client-key.pem')}")
    same(got, support.dig(knot.addr, "www.example.org.", "A"))
    for cert in (None, ("other-client.pem", "other-client-key.pem")):
        extra = (f"+tls-certfile={C(cert[0])}", f"+tls-keyfile={C(cert[1])}") if cert else ()
        with pytest.raises(RuntimeError, match="exited"):
            support.kdig(addr, "www.example.org.", "A", "+https", *KDIG_TLS, *extra)


def test_plain_http_listener_for_a_proxy_in_front(dnsgrpcd, knot, tmp_path):
    port = support.free_port()
    start(dnsgrpcd, tmp_path, f"https://.:{port} {{\n    bind 127.0.0.1\n    forward . {knot.addr}\n}}\n", port)
    query = dns.message.make_query("www.example.org", "A")
    reply = dns.query.https(query, f"http://127.0.0.1:{port}/dns-query", http_version=dns.query.HTTPVersion.H1,
                            timeout=15)
    assert support.rr_set(reply.answer) == support.dig(knot.addr, "www.example.org", "A").answer


# --- our DoH upstream ------------------------------------------------------------------------------------------------

def dnsdist_doh(tmp_path, knot) -> tuple[support.Process, int]:
    port, dns_port, console = support.free_port(), support.free_port(), support.free_port()
    conf = tmp_path / "dnsdist.conf"
    conf.write_text(f"""
setLocal("127.0.0.1:{dns_port}")
addDOHLocal("127.0.0.1:{port}", "{C('server.pem')}", "{C('server-key.pem')}", "/dns-query")
newServer({{address="{knot.addr}", healthCheckMode="lazy"}})
setSecurityPollSuffix("")
""")
    proc = support.Process("dnsdist", ["dnsdist", "--supervised", "--disable-syslog", "-C", str(conf)],
                           tmp_path / "dnsdist.log")
    try:
        proc.wait_for_port("127.0.0.1", port, timeout=30)
    except BaseException:
        proc.kill()
        raise
    return proc, port


@pytest.mark.skipif(shutil.which("dnsdist") is None, reason="dnsdist is installed by scripts/install-deps.sh test")
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_doh_upstream_to_dnsdist(dnsgrpcd, knot, tmp_path, method):
    peer, peer_port = dnsdist_doh(tmp_path, knot)
    try:
        port, metrics = support.free_port(), support.free_port()
        start(dnsgrpcd, tmp_path, f"""
            .:{port} {{
                bind 127.0.0.1
                forward . https://127.0.0.1:{peer_port}/dns-query {{
                    tls {C('ca.pem')}
                    tls_servername localhost
                    doh_method {method}
                }}
                prometheus 127.0.0.1:{metrics}
            }}
            """, port)
        for name, rdtype in QUERIES:
            same(support.dig(f"127.0.0.1:{port}", name, rdtype), support.dig(knot.addr, name, rdtype))
        m = support.scrape(f"127.0.0.1:{metrics}")
        to = f"127.0.0.1:{peer_port}/dns-query"
        assert m.value("coredns_forward_requests_total", to=to) >= len(QUERIES)
        assert m.value("coredns_forward_conn_cache_misses_total", to=to, proto="https") == 1, "one connection"
        assert m.value("coredns_forward_conn_cache_hits_total", to=to, proto="https") >= len(QUERIES) - 1
    finally:
        peer.stop(expect=None)
        peer.kill()


def doh_chain(dnsgrpcd, knot, tmp_path, ca: str, extra: str = "") -> str:
    """B: our DoH listener in front of knotd; A: plain DNS in, forwarding to B over DoH with `tls CA`. A's address."""
    b_port, a_port = support.free_port(), support.free_port()
    start(dnsgrpcd, tmp_path, f"""
        https://.:{b_port} {{
            bind 127.0.0.1
            tls {C('server.pem')} {C('server-key.pem')}
            forward . {knot.addr}
        }}
        """, b_port, name="b")
    start(dnsgrpcd, tmp_path, f"""
        .:{a_port} {{
            bind 127.0.0.1
            forward . https://127.0.0.1:{b_port}#localhost {{
                tls {C(ca)}
                {extra}
            }}
        }}
        """, a_port, name="a")
    return f"127.0.0.1:{a_port}"


def test_chain_dns_to_doh_to_knot(dnsgrpcd, knot, tmp_path):
    """dig -> A (DNS in, DoH out) -> B (DoH in) -> knotd, with a health check over DoH."""
    a = doh_chain(dnsgrpcd, knot, tmp_path, "ca.pem", "health_check 200ms")
    for name, rdtype in QUERIES:
        same(support.dig(a, name, rdtype), support.dig(knot.addr, name, rdtype))
        same(support.dig(a, name, rdtype, "+tcp"), support.dig(knot.addr, name, rdtype))


def test_doh_upstream_that_does_not_verify_is_servfail(dnsgrpcd, knot, tmp_path):
    got = support.dig(doh_chain(dnsgrpcd, knot, tmp_path, "other-ca.pem"), "www.example.org", "A")
    assert got.rcode == "SERVFAIL" and not got.answer


def test_doh_example_both_ways(dnsgrpcd, knot):
    doh_port, dns_port = support.free_port(), support.free_port()
    env = {"CERTS": str(support.REPO / "certs"), "DOH_PORT": str(doh_port), "DNS_PORT": str(dns_port),
           "UPSTREAM": knot.addr}
    dnsgrpcd("-conf", support.example_corefile("doh/Corefile"), env=env,
             wait_for=[f"127.0.0.1:{doh_port}", f"127.0.0.1:{dns_port}"])
    for name, rdtype in QUERIES:
        expected = support.dig(knot.addr, name, rdtype)
        same(support.kdig(f"127.0.0.1:{doh_port}", name, rdtype, "+https", *KDIG_TLS), expected)
        same(support.dig(f"127.0.0.1:{dns_port}", name, rdtype), expected)
