"""TLS everywhere: DNS over TLS in and out, gRPC with TLS and mutual TLS in and out, every CoreDNS variant.

Independent peers check each side: Knot's kdig (DoT client), unbound (DoT server), grpcio (gRPC client and server).
Certificates come from certs/ (test-only keys): ca.pem signs server.pem (localhost, 127.0.0.1, ::1) and client.pem;
other-ca.pem signs other-client.pem; expired-*.pem expired in 2020. The reference for every answer is knotd asked
directly with dig.
"""

from __future__ import annotations

import concurrent.futures
import socket
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import grpc
import pytest

import support

C = support.cert_path

QUERIES = [
    ("www.example.org.", "A"),
    ("example.org.", "MX"),
    ("ftp.example.org.", "A"),  # CNAME inside the zone
    ("nope.example.org.", "A"),  # NXDOMAIN, SOA in authority
    ("www.example.org.", "TXT"),  # NODATA
    ("big.example.org.", "TXT"),  # ~900 bytes
]
QUERY_IDS = [f"{n}{t}" for n, t in QUERIES]

# What kdig needs to verify our DoT listener like a careful client would.
KDIG_VERIFY = (f"+tls-ca={C('ca.pem')}", "+tls-hostname=localhost")


def kdig_client_cert(cert: str, key: str) -> tuple[str, ...]:
    return (f"+tls-certfile={C(cert)}", f"+tls-keyfile={C(key)}")


def assert_same(got: support.DigResult, expected: support.DigResult, authority: bool = True) -> None:
    assert got.rcode == expected.rcode, f"{got.text}\n--- expected ---\n{expected.text}"
    assert got.answer == expected.answer, f"{got.text}\n--- expected ---\n{expected.text}"
    if authority:
        assert got.authority == expected.authority, f"{got.text}\n--- expected ---\n{expected.text}"


def start_conf(dnsgrpcd, tmp_path, text: str, wait_for: list[str], name: str = "dnsgrpcd") -> support.Dnsgrpcd:
    """dnsgrpcd (the conftest factory) on a Corefile written to tmp_path/name/Corefile."""
    corefile = support.write_corefile(tmp_path / name, text)
    return dnsgrpcd("-conf", str(corefile), "--log-level", "debug", wait_for=wait_for)


@pytest.fixture(scope="module")
def unbound(knot, module_processes, tmp_path_factory) -> support.Unbound:
    """unbound serving DNS over TLS (server.pem) on loopback, forwarding to knotd."""
    return module_processes(support.start_unbound_dot(tmp_path_factory.mktemp("unbound"), knot.addr))


# --- our DoT listener, asked by kdig ---------------------------------------------------------------------------------

@pytest.fixture
def dot_listener(dnsgrpcd, knot, tmp_path) -> str:
    port = support.free_port()
    start_conf(dnsgrpcd, tmp_path, f"""
        tls://.:{port} {{
            bind 127.0.0.1
            tls {C('server.pem')} {C('server-key.pem')}
            forward . {knot.addr}
        }}
        """, wait_for=[f"127.0.0.1:{port}"])
    return f"127.0.0.1:{port}"


@pytest.fixture
def mtls_dot_listener(dnsgrpcd, knot, tmp_path) -> str:
    port = support.free_port()
    start_conf(dnsgrpcd, tmp_path, f"""
        tls://.:{port} {{
            bind 127.0.0.1
            tls {C('server.pem')} {C('server-key.pem')} {C('ca.pem')}
            forward . {knot.addr}
        }}
        """, wait_for=[f"127.0.0.1:{port}"])
    return f"127.0.0.1:{port}"


@pytest.mark.parametrize("name,rdtype", QUERIES, ids=QUERY_IDS)
def test_kdig_tls_to_our_dot_listener(dot_listener, knot, name, rdtype):
    expected = support.dig(knot.addr, name, rdtype)
    got = support.kdig(dot_listener, name, rdtype, *KDIG_VERIFY)
    assert "TLS session" in got.text
    assert_same(got, expected)


def test_kdig_refuses_our_listener_when_it_does_not_trust_the_ca(dot_listener):
    with pytest.raises(RuntimeError, match="exited"):
        support.kdig(dot_listener, "www.example.org.", "A", f"+tls-ca={C('other-ca.pem')}",
                     "+tls-hostname=localhost")


def test_kdig_with_client_certificate_to_mtls_dot_listener(mtls_dot_listener, knot):
    for name, rdtype in QUERIES:
        expected = support.dig(knot.addr, name, rdtype)
        got = support.kdig(mtls_dot_listener, name, rdtype, *KDIG_VERIFY,
                           *kdig_client_cert("client.pem", "client-key.pem"))
        assert_same(got, expected)


@pytest.mark.parametrize("client", [None, ("other-client.pem", "other-client-key.pem"),
                                    ("expired-client.pem", "expired-client-key.pem")],
                         ids=["no-certificate", "other-ca", "expired"])
def test_mtls_dot_listener_refuses_bad_client_certificates(mtls_dot_listener, knot, client):
    options = kdig_client_cert(*client) if client else ()
    with pytest.raises(RuntimeError, match="exited"):
        support.kdig(mtls_dot_listener, "www.example.org.", "A", *KDIG_VERIFY, *options)
    # ...and the listener still serves a good client afterwards.
    got = support.kdig(mtls_dot_listener, "www.example.org.", "A", *KDIG_VERIFY,
                       *kdig_client_cert("client.pem", "client-key.pem"))
    assert_same(got, support.dig(knot.addr, "www.example.org.", "A"))


def closed_by_peer(sock: socket.socket, within: float) -> bool:
    """Whether the peer closes (EOF or reset) within `within` seconds; whatever it sends first is drained."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            if sock.recv(4096) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
    return False


def test_plaintext_and_stalled_clients_on_dot_port_are_closed_without_affecting_others(dot_listener, knot):
    host, port = support.split_hostport(dot_listener)
    expected = support.dig(knot.addr, "www.example.org.", "A")
    stalled = socket.create_connection((host, port), timeout=5)  # connects, then never says anything
    half_hello = socket.create_connection((host, port), timeout=5)
    half_hello.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # the start of a ClientHello, then silence
    plaintext = socket.create_connection((host, port), timeout=5)
    try:
        # Plain DNS over TCP to the TLS port: not a TLS record, the handshake fails, the server closes.
        plaintext.sendall(len(q := dns.message.make_query("www.example.org.", "A").to_wire()).to_bytes(2, "big") + q)
        assert closed_by_peer(plaintext, within=15), "plaintext client on the DoT port was not closed"
        # Meanwhile good clients are served.
        assert_same(support.kdig(dot_listener, "www.example.org.", "A", *KDIG_VERIFY), expected)
        # Stalled handshakes are dropped by the listener's idle timeout (10s), not kept forever.
        assert closed_by_peer(stalled, within=30), "a client that never sent a ClientHello was kept open"
        assert closed_by_peer(half_hello, within=15), "a client stalled mid-handshake was kept open"
        assert_same(support.kdig(dot_listener, "www.example.org.", "A", *KDIG_VERIFY), expected)
    finally:
        for s in (stalled, half_hello, plaintext):
            s.close()


# --- our DoT upstream, to unbound (an independent DoT server) ------------------------------------------------------

DOT_UPSTREAM_FORMS = {
    # CoreDNS's form: one server name for the whole forward block.
    "tls_servername": ("tls://127.0.0.1:{u}", "tls {ca}\n                tls_servername localhost"),
    # Ours: the server name on the upstream itself.
    "per-upstream-name": ("tls://127.0.0.1:{u}#localhost", "tls {ca}"),
    # No name: the certificate's IP address SAN (127.0.0.1) is checked.
    "ip-address-san": ("tls://127.0.0.1:{u}", "tls {ca}"),
}


def forward_block(port: int, upstream: str, options: str = "", extra: str = "") -> str:
    body = f" {{\n                {options}\n            }}" if options else ""
    return f"""
        .:{port} {{
            bind 127.0.0.1
            forward . {upstream}{body}
            {extra}
        }}
        """


@pytest.mark.parametrize("form", list(DOT_UPSTREAM_FORMS))
def test_dot_upstream_to_unbound(dnsgrpcd, knot, unbound, tmp_path, form):
    upstream, options = DOT_UPSTREAM_FORMS[form]
    port = support.free_port()
    start_conf(dnsgrpcd, tmp_path, forward_block(port, upstream.format(u=unbound.port),
                                                 options.format(ca=C("ca.pem"))),
               wait_for=[f"127.0.0.1:{port}"])
    support.wait_for_dns("127.0.0.1", port, "www.example.org.", "A")  # the TLS connection to unbound is up
    for name, rdtype in QUERIES:
        for proto in ((), ("+tcp",)):
            got = support.dig(f"127.0.0.1:{port}", name, rdtype, *proto)
            # unbound is a resolver, not the authority: its authority section may differ; answers may not.
            assert_same(got, support.dig(knot.addr, name, rdtype), authority=False)


def test_dot_upstream_pipelines_queries_on_one_connection(dnsgrpcd, knot, unbound, tmp_path):
    port = support.free_port()
    start_conf(dnsgrpcd, tmp_path, forward_block(port, f"tls://127.0.0.1:{unbound.port}#localhost",
                                                 f"tls {C('ca.pem')}"),
               wait_for=[f"127.0.0.1:{port}"])
    names = [("www.example.org.", "A"), ("ftp.example.org.", "A"), ("example.org.", "MX")] \
        + [(f"nope{i}.example.org.", "A") for i in range(45)]
    expected = {(n, t): dns.rcode.from_text(support.dig(knot.addr, n, t).rcode) for n, t in names}

    def ask(item):
        name, rdtype = item
        query = dns.message.make_query(name, rdtype)
        # dns.query.udp itself refuses a reply whose ID or question differ from the query.
        return item, dns.query.udp(query, "127.0.0.1", port=port, timeout=support.CALL_TIMEOUT)

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(names)) as pool:
        results = list(pool.map(ask, names))
    for item, reply in results:
        assert reply.rcode() == expected[item], f"{item}: {dns.rcode.to_text(reply.rcode())}"
        assert str(reply.question[0].name) == item[0]
    # 48 concurrent queries went over a single TLS connection (64 may be in flight on one).
    assert support.established_connections(unbound.port) == 1


def start_dot_listener(dnsgrpcd, tmp_path, knot, host: str, cert: str, key: str, name: str) -> int:
    """Our own DoT listener on host (a loopback address) with the given certificate, forwarding to knotd."""
    port = support.free_port(host)
    start_conf(dnsgrpcd, tmp_path, f"""
        tls://.:{port} {{
            bind {host}
            tls {C(cert)} {C(key)}
            forward . {knot.addr}
        }}
        """, wait_for=[support.join_hostport(host, port)], name=name)
    return port


def dig_through_forwarder(dnsgrpcd, tmp_path, upstream: str, options: str, name: str,
                          answers: bool = False) -> support.DigResult:
    """dig through a new forwarder to `upstream`; with `answers`, once it answers (its TLS connection is up: on a
    loaded machine that can take longer than a first query's deadline)."""
    port = support.free_port()
    start_conf(dnsgrpcd, tmp_path, forward_block(port, upstream, options), wait_for=[f"127.0.0.1:{port}"], name=name)
    if answers:
        support.wait_for_dns("127.0.0.1", port, "www.example.org.", "A")
    # The forwarder answers within its 5 s request deadline, SERVFAIL included.
    return support.dig(f"127.0.0.1:{port}", "www.example.org.", "A", "+time=15", "+tries=1")


@pytest.mark.parametrize("case", ["other-ca", "system-cas", "expired-server"])
def test_dot_upstream_that_does_not_verify_is_servfail(dnsgrpcd, knot, unbound, tmp_path, case):
    upstream_port = unbound.port
    if case == "expired-server":
        # Our own DoT listener with a certificate from the right CA that expired in 2020.
        upstream_port = start_dot_listener(dnsgrpcd, tmp_path, knot, "127.0.0.1", "expired-server.pem",
                                           "expired-server-key.pem", "expired")
    options = {
        "other-ca": f"tls {C('other-ca.pem')}",
        "system-cas": "",  # no tls option: the system CAs, which do not include the test CA
        "expired-server": f"tls {C('ca.pem')}",
    }[case]
    got = dig_through_forwarder(dnsgrpcd, tmp_path, f"tls://127.0.0.1:{upstream_port}#localhost", options,
                                "forwarder")
    assert got.rcode == "SERVFAIL", got.text
    assert not got.answer


def test_dot_upstream_server_name_is_verified(dnsgrpcd, knot, tmp_path):
    """server.pem names localhost, 127.0.0.1 and ::1. Reached at 127.0.0.2 it verifies only under the name
    localhost: neither another name nor the bare address is accepted. (Reached at an address the certificate
    names, NIOSSL also accepts it for that address, as RFC 6125 allows, whatever the server name.)"""
    port = start_dot_listener(dnsgrpcd, tmp_path, knot, "127.0.0.2", "server.pem", "server-key.pem", "upstream")
    ca = f"tls {C('ca.pem')}"
    expected = support.dig(knot.addr, "www.example.org.", "A")
    assert_same(dig_through_forwarder(dnsgrpcd, tmp_path, f"tls://127.0.0.2:{port}#localhost", ca, "named",
                                      answers=True), expected)
    assert_same(dig_through_forwarder(dnsgrpcd, tmp_path, f"tls://127.0.0.2:{port}",
                                      f"{ca}\n                tls_servername localhost", "servername", answers=True),
                expected)
    for upstream, name in ((f"tls://127.0.0.2:{port}#not-localhost.example", "wrong-name"),
                           (f"tls://127.0.0.2:{port}", "no-name")):
        got = dig_through_forwarder(dnsgrpcd, tmp_path, upstream, ca, name)
        assert got.rcode == "SERVFAIL" and not got.answer, f"{upstream}: {got.text}"


# --- our gRPC listener with TLS, asked by grpcio ---------------------------------------------------------------------

def grpc_listener_conf(port: int, knot: support.Knotd, tls_args: str) -> str:
    return f"""
        grpc://.:{port} {{
            bind 127.0.0.1
            tls {tls_args}
            forward . {knot.addr}
        }}
        """


def assert_grpc_answer(addr: str, knot: support.Knotd, credentials, name="www.example.org.", rdtype="A"):
    expected = support.dig(knot.addr, name, rdtype)
    query = dns.message.make_query(name, rdtype)
    reply = dns.message.from_wire(support.grpc_query(addr, query.to_wire(), credentials=credentials,
                                                     server_name="localhost"))
    assert reply.id == query.id and reply.question == query.question
    assert dns.rcode.to_text(reply.rcode()) == expected.rcode
    assert support.rr_set(reply.answer) == expected.answer


def assert_grpc_refused(addr: str, credentials, server_name: str | None = "localhost"):
    query = dns.message.make_query("www.example.org.", "A")
    with pytest.raises(grpc.RpcError) as refused:
        if credentials is None:
            support.grpc_query(addr, query.to_wire())
        else:
            support.grpc_query(addr, query.to_wire(), credentials=credentials, server_name=server_name)
    # A refused handshake is a transport failure (no answer, no status from our handler).
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, refused.value


def test_grpc_listener_with_tls(dnsgrpcd, knot, tmp_path):
    port = support.free_port()
    start_conf(dnsgrpcd, tmp_path, grpc_listener_conf(port, knot, f"{C('server.pem')} {C('server-key.pem')}"),
               wait_for=[f"127.0.0.1:{port}"])
    addr = f"127.0.0.1:{port}"
    for name, rdtype in QUERIES:
        assert_grpc_answer(addr, knot, support.tls_channel_credentials(ca="ca.pem"), name, rdtype)
    # Without the CA the client refuses us; a plaintext client cannot talk to a TLS port.
    assert_grpc_refused(addr, support.tls_channel_credentials(ca="other-ca.pem"))
    assert_grpc_refused(addr, None)
    assert_grpc_answer(addr, knot, support.tls_channel_credentials(ca="ca.pem"))


def test_grpc_tls_listener_drops_stalled_handshakes_without_affecting_others(dnsgrpcd, knot, tmp_path):
    port = support.free_port()
    start_conf(dnsgrpcd, tmp_path, grpc_listener_conf(port, knot, f"{C('server.pem')} {C('server-key.pem')}"),
               wait_for=[f"127.0.0.1:{port}"])
    addr = f"127.0.0.1:{port}"
    stalled = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        assert_grpc_answer(addr, knot, support.tls_channel_credentials(ca="ca.pem"))
        # gRPC core's handshake deadline is set to 10s (its default is 120s).
        assert closed_by_peer(stalled, within=30), "a gRPC client that never sent a ClientHello was kept open"
        assert_grpc_answer(addr, knot, support.tls_channel_credentials(ca="ca.pem"))
    finally:
        stalled.close()


@pytest.fixture
def mtls_grpc_listener(dnsgrpcd, knot, tmp_path) -> str:
    port = support.free_port()
    start_conf(dnsgrpcd, tmp_path, grpc_listener_conf(
        port, knot, f"{C('server.pem')} {C('server-key.pem')} {C('ca.pem')}"), wait_for=[f"127.0.0.1:{port}"])
    return f"127.0.0.1:{port}"


def test_mtls_grpc_listener_answers_the_right_client_certificate(mtls_grpc_listener, knot):
    credentials = support.tls_channel_credentials(ca="ca.pem", cert="client.pem", key="client-key.pem")
    for name, rdtype in QUERIES:
        assert_grpc_answer(mtls_grpc_listener, knot, credentials, name, rdtype)


@pytest.mark.parametrize("client", [None, ("other-client.pem", "other-client-key.pem"),
                                    ("expired-client.pem", "expired-client-key.pem"), "plaintext"],
                         ids=["no-certificate", "other-ca", "expired", "plaintext"])
def test_mtls_grpc_listener_refuses_bad_clients(mtls_grpc_listener, knot, client):
    if client == "plaintext":
        assert_grpc_refused(mtls_grpc_listener, None)
    else:
        cert, key = client if client else (None, None)
        assert_grpc_refused(mtls_grpc_listener, support.tls_channel_credentials(ca="ca.pem", cert=cert, key=key))
    # The listener is unharmed.
    assert_grpc_answer(mtls_grpc_listener, knot,
                       support.tls_channel_credentials(ca="ca.pem", cert="client.pem", key="client-key.pem"))


# --- our gRPC upstream client, every variant, against grpcio servers --------------------------------------------------

@pytest.fixture(scope="module")
def grpc_servers(module_processes, tmp_path_factory) -> dict[str, support.DnsGrpcServer]:
    """Python DnsService servers: plaintext, TLS (server.pem), and mutual TLS (client certificates from ca.pem)."""
    logs = tmp_path_factory.mktemp("grpc-servers")
    tls = ("--tls-cert", str(C("server.pem")), "--tls-key", str(C("server-key.pem")))
    return {
        "plain": module_processes(support.start_dns_grpc_server(logs, tag="plain")),
        "tls": module_processes(support.start_dns_grpc_server(logs, tag="tls", extra_args=tls)),
        "mtls": module_processes(support.start_dns_grpc_server(
            logs, tag="mtls", extra_args=(*tls, "--tls-client-ca", str(C("ca.pem"))))),
    }


# name -> (directive with {plain}/{tls}/{mtls} ports and {CERT}-style file names, server tag that must answer or
# None for SERVFAIL). Forward and grpc write `tls CERT KEY [CA]`; proxy writes `protocol grpc KEY CERT [CACERT]`.
GRPC_UPSTREAM_CASES = {
    # insecure
    "forward-grpc-default-plaintext": ("forward . grpc://127.0.0.1:{plain}", "plain"),
    "grpc-plugin-default-plaintext": ("grpc . 127.0.0.1:{plain}", "plain"),
    "proxy-insecure": ("proxy . 127.0.0.1:{plain} {{\n protocol grpc insecure\n }}", "plain"),
    # CACERT
    "forward-ca-ip-san": ("forward . grpc://127.0.0.1:{tls} {{\n tls {ca}\n }}", "tls"),
    "forward-ca-per-upstream-name": ("forward . grpc://127.0.0.1:{tls}#localhost {{\n tls {ca}\n }}", "tls"),
    "forward-ca-tls_servername": ("forward . grpc://127.0.0.1:{tls} {{\n tls {ca}\n tls_servername localhost\n }}",
                                  "tls"),
    "grpc-plugin-ca": ("grpc . 127.0.0.1:{tls} {{\n tls {ca}\n tls_servername localhost\n }}", "tls"),
    "proxy-cacert": ("proxy . 127.0.0.1:{tls} {{\n protocol grpc {ca}\n }}", "tls"),
    # KEY CERT CACERT (mutual TLS)
    "forward-cert-key-ca": ("forward . grpc://127.0.0.1:{mtls}#localhost {{\n tls {cert} {key} {ca}\n }}", "mtls"),
    "grpc-plugin-cert-key-ca": ("grpc . 127.0.0.1:{mtls} {{\n tls {cert} {key} {ca}\n }}", "mtls"),
    "proxy-key-cert-cacert": ("proxy . 127.0.0.1:{mtls} {{\n protocol grpc {key} {cert} {ca}\n }}", "mtls"),
    # mismatches: each must fail (SERVFAIL), never be answered
    "mismatch-ca-other-ca": ("forward . grpc://127.0.0.1:{tls} {{\n tls {other_ca}\n }}", None),
    "mismatch-proxy-cacert-other-ca": ("proxy . 127.0.0.1:{tls} {{\n protocol grpc {other_ca}\n }}", None),
    "mismatch-wrong-server-name": ("forward . grpc://127.0.0.1:{tls}#not-localhost.example {{\n tls {ca}\n }}",
                                   None),
    "mismatch-system-cas": ("forward . grpc://127.0.0.1:{tls} {{\n tls\n }}", None),
    "mismatch-plaintext-to-tls": ("forward . grpc://127.0.0.1:{tls}", None),
    "mismatch-tls-to-plaintext": ("grpc . 127.0.0.1:{plain} {{\n tls {ca}\n }}", None),
    "mismatch-no-client-cert-to-mtls": ("forward . grpc://127.0.0.1:{mtls} {{\n tls {ca}\n }}", None),
    "mismatch-other-ca-client-cert": (
        "forward . grpc://127.0.0.1:{mtls} {{\n tls {other_cert} {other_key} {ca}\n }}", None),
    "mismatch-expired-client-cert": (
        "forward . grpc://127.0.0.1:{mtls} {{\n tls {expired_cert} {expired_key} {ca}\n }}", None),
}

# KEY CERT and bare `tls` verify the server with the system CAs. This dnsgrpcd runs with gRPC core's own setting
# for its default roots, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=certs/ca.pem, so "the system CAs" are the test CA.
GRPC_UPSTREAM_SYSTEM_CA_CASES = {
    "forward-system-cas": ("forward . grpc://127.0.0.1:{tls}#localhost {{\n tls\n }}", "tls"),
    "forward-cert-key": ("forward . grpc://127.0.0.1:{mtls}#localhost {{\n tls {cert} {key}\n }}", "mtls"),
    "grpc-plugin-cert-key": ("grpc . 127.0.0.1:{mtls} {{\n tls {cert} {key}\n tls_servername localhost\n }}",
                             "mtls"),
    "proxy-key-cert": ("proxy . 127.0.0.1:{mtls} {{\n protocol grpc {key} {cert}\n }}", "mtls"),
    "proxy-system-cas": ("proxy . 127.0.0.1:{tls} {{\n protocol grpc\n }}", "tls"),
    "mismatch-cert-key-other-ca-client-cert": (
        "forward . grpc://127.0.0.1:{mtls}#localhost {{\n tls {other_cert} {other_key}\n }}", None),
}

FILES = {
    "ca": "ca.pem", "cert": "client.pem", "key": "client-key.pem", "other_ca": "other-ca.pem",
    "other_cert": "other-client.pem", "other_key": "other-client-key.pem",
    "expired_cert": "expired-client.pem", "expired_key": "expired-client-key.pem",
}


def grpc_upstream_gateway(cases: dict, grpc_servers, knot, module_processes, tmp_path_factory,
                          env: dict[str, str] | None = None) -> dict[str, int]:
    """One dnsgrpcd with a DNS server block per case; returns case -> its DNS port."""
    values = {k: C(v) for k, v in FILES.items()}
    values.update({tag: server.port for tag, server in grpc_servers.items()})
    ports, text = {}, ""
    for case, (directive, _) in cases.items():
        ports[case] = support.free_port()
        text += f".:{ports[case]} {{\n bind 127.0.0.1\n {directive.format(**values)}\n}}\n"
    work = tmp_path_factory.mktemp("grpc-upstreams")
    corefile = support.write_corefile(work, text)
    # A 10 s request deadline: a first query may wait for its channel's connection and TLS handshake longer than
    # the 2 s exchange timeout on a loaded machine, and is then tried again. The mismatches fail at once.
    return module_processes(support.start_dnsgrpcd(
        "-conf", str(corefile), "--timeout", "10s", "--log-level", "debug", log_dir=work,
        wait_for=[f"127.0.0.1:{p}" for p in ports.values()], env=env)), ports


@pytest.fixture(scope="module")
def grpc_upstream_ports(grpc_servers, knot, module_processes, tmp_path_factory) -> dict[str, int]:
    return grpc_upstream_gateway(GRPC_UPSTREAM_CASES, grpc_servers, knot, module_processes, tmp_path_factory)[1]


@pytest.fixture(scope="module")
def grpc_upstream_system_ca_ports(grpc_servers, knot, module_processes, tmp_path_factory) -> dict[str, int]:
    return grpc_upstream_gateway(GRPC_UPSTREAM_SYSTEM_CA_CASES, grpc_servers, knot, module_processes,
                                 tmp_path_factory, env={"GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": str(C("ca.pem"))})[1]


def assert_grpc_upstream_case(port: int, tag: str | None):
    # The forwarder answers within its 10 s request deadline (--timeout), SERVFAIL included.
    got = support.dig(f"127.0.0.1:{port}", "www.example.org.", "A", "+time=15", "+tries=1")
    if tag is None:
        assert got.rcode == "SERVFAIL", got.text
        assert not got.answer, got.text
    else:
        assert got.rcode == "NOERROR", got.text
        assert ("www.example.org.", "IN", "TXT", f'"tag={tag}"') in got.answer, got.text


@pytest.mark.parametrize("case", list(GRPC_UPSTREAM_CASES))
def test_grpc_upstream_variant(grpc_upstream_ports, case):
    assert_grpc_upstream_case(grpc_upstream_ports[case], GRPC_UPSTREAM_CASES[case][1])


@pytest.mark.parametrize("case", list(GRPC_UPSTREAM_SYSTEM_CA_CASES))
def test_grpc_upstream_variant_with_system_cas(grpc_upstream_system_ca_ports, case):
    assert_grpc_upstream_case(grpc_upstream_system_ca_ports[case], GRPC_UPSTREAM_SYSTEM_CA_CASES[case][1])


def test_quick_start_flags_keep_grpc_upstream_plaintext(dnsgrpcd, grpc_servers):
    """`dnsgrpcd --dns ... --upstream grpc://...` reaches a plaintext DnsService server, as the README says."""
    port = support.free_port()
    dnsgrpcd("--dns", f"127.0.0.1:{port}", "--upstream", f"grpc://127.0.0.1:{grpc_servers['plain'].port}",
             "--timeout", "10s")
    assert_grpc_upstream_case(port, "plain")


# --- the mTLS service mesh: dig -> A -(gRPC, mTLS)-> B -(DoT)-> resolver -> knotd --------------------------------------

@pytest.mark.parametrize("dot_server", ["unbound", "dnsgrpcd"])
def test_mtls_mesh_chain(dnsgrpcd, knot, unbound, tmp_path, dot_server):
    if dot_server == "unbound":
        dot_port = unbound.port
    else:
        dot_port = support.free_port()
        start_conf(dnsgrpcd, tmp_path, f"""
            tls://.:{dot_port} {{
                bind 127.0.0.1
                tls {C('server.pem')} {C('server-key.pem')}
                forward . {knot.addr}
            }}
            """, wait_for=[f"127.0.0.1:{dot_port}"], name="c")
    b_port, a_port = support.free_port(), support.free_port()
    start_conf(dnsgrpcd, tmp_path, f"""
        grpc://.:{b_port} {{
            bind 127.0.0.1
            tls {C('server.pem')} {C('server-key.pem')} {C('ca.pem')}
            forward . tls://127.0.0.1:{dot_port} {{
                tls {C('ca.pem')}
                tls_servername localhost
            }}
        }}
        """, wait_for=[f"127.0.0.1:{b_port}"], name="b")
    start_conf(dnsgrpcd, tmp_path, f"""
        .:{a_port} {{
            bind 127.0.0.1
            forward . grpc://127.0.0.1:{b_port}#localhost {{
                tls {C('client.pem')} {C('client-key.pem')} {C('ca.pem')}
            }}
        }}
        """, wait_for=[f"127.0.0.1:{a_port}"], name="a")
    support.wait_for_dns("127.0.0.1", a_port, "www.example.org.", "A")  # every hop's connection is up
    for name, rdtype in QUERIES:
        for proto in ((), ("+tcp",)):
            got = support.dig(f"127.0.0.1:{a_port}", name, rdtype, *proto)
            assert_same(got, support.dig(knot.addr, name, rdtype), authority=dot_server == "dnsgrpcd")
    # B refuses a gRPC client without a certificate: the mesh only takes its own.
    assert_grpc_refused(f"127.0.0.1:{b_port}", support.tls_channel_credentials(ca="ca.pem"))


# --- start-up errors -------------------------------------------------------------------------------------------------

def run_dnsgrpcd_expecting_failure(tmp_path, text: str) -> str:
    """The last line dnsgrpcd writes to stderr before it exits 1 (earlier lines are logs)."""
    support.write_corefile(tmp_path, text)
    done = subprocess.run([str(support.dnsgrpcd_binary()), "-conf", "Corefile"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, env=support.child_env())
    assert done.returncode == 1, f"exit {done.returncode}\n{done.stdout}{done.stderr}"
    return done.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("case", ["listener-key-does-not-match", "listener-cert-not-pem", "listener-missing-file",
                                  "forward-ca-not-pem", "proxy-cert-and-key-swapped", "grpc-key-does-not-match"])
def test_certificate_errors_at_startup_name_the_file_and_line(tmp_path, case):
    (tmp_path / "not-a-cert.pem").write_text("this is not PEM\n")
    port = support.free_port()
    server, server_key, client, client_key = C("server.pem"), C("server-key.pem"), C("client.pem"), C("client-key.pem")
    text, line, message = {
        "listener-key-does-not-match": (
            f"tls://.:{port} {{\n  bind 127.0.0.1\n  tls {server} {client_key}\n  whoami\n}}\n", 3,
            f"private key {client_key} does not belong to certificate {server}"),
        "listener-cert-not-pem": (
            f"grpc://.:{port} {{\n  bind 127.0.0.1\n  whoami\n  tls not-a-cert.pem {server_key}\n}}\n", 4,
            "certificate file"),
        "listener-missing-file": (
            f"tls://.:{port} {{\n  tls missing.pem {server_key}\n}}\n", 2, "'missing.pem' does not exist"),
        "forward-ca-not-pem": (
            f".:{port} {{\n  bind 127.0.0.1\n  forward . tls://127.0.0.1:853 {{\n    tls_servername localhost\n"
            f"    tls not-a-cert.pem\n  }}\n}}\n", 5, "CA file"),
        "proxy-cert-and-key-swapped": (
            f".:{port} {{\n  bind 127.0.0.1\n  proxy . 127.0.0.1:443 {{\n    protocol grpc {client} {client_key}\n"
            f"  }}\n}}\n", 4, f"certificate file {client_key} is not usable; expected one or more PEM CERTIFICATE"),
        "grpc-key-does-not-match": (
            f".:{port} {{\n  bind 127.0.0.1\n  grpc . 127.0.0.1:443 {{\n    tls {client} {server_key} {C('ca.pem')}\n"
            f"  }}\n}}\n", 4, f"private key {server_key} does not belong to certificate {client}"),
    }[case]
    stderr = run_dnsgrpcd_expecting_failure(tmp_path, text)
    assert stderr.startswith(f"dnsgrpcd: Corefile:{line}: "), stderr
    assert message in stderr, stderr
