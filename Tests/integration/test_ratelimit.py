"""Per-client rate limits (`ratelimit RATE [BURST] { ... }`) over UDP, TCP, gRPC and DoH, with real sockets.

Every test runs dnsgrpcd from its own Corefile (so each has a fresh table) whose block answers with `whoami`: no
upstream is needed, and a NOERROR reply names the client it saw. The rates are such that the outcome does not
depend on speed: RATE 1 BURST 5 lets the first 5 queries of a client through at once, and of the next 20 sent back
to back at least one is over the rate unless they take 20 seconds. Other clients are other source addresses
(127.0.0.2 bound as the UDP/TCP source, ::1 for gRPC), whose first queries are always within their burst.
"""

from __future__ import annotations

import http.client
import socket

import dns.message
import dns.query
import dns.rcode
import grpc
import pytest

import support

NOERROR, REFUSED = dns.rcode.NOERROR, dns.rcode.REFUSED
TIMEOUT = 5.0
BURST = 5
AFTER_BURST = 20


def start(dnsgrpcd, tmp_path, options: str = "", rate: str = f"1 {BURST}", extra: str = ""):
    """dnsgrpcd with one block (plain DNS and gRPC on 127.0.0.1 and ::1, whoami, the rate limit, prometheus, and
    `extra`); returns (process, dns port, gRPC port, metrics address)."""
    dns_port, grpc_port, metrics_port = support.free_port(), support.free_port(), support.free_port()
    corefile = support.write_corefile(tmp_path, f"""
.:{dns_port} grpc://.:{grpc_port} {{
    bind 127.0.0.1 ::1
    ratelimit {rate} {{
        {options}
    }}
    whoami
    prometheus 127.0.0.1:{metrics_port}
    {extra}
}}
""")
    proc = dnsgrpcd("-conf", str(corefile), wait_for=[f"127.0.0.1:{dns_port}", f"127.0.0.1:{grpc_port}",
                                                     f"127.0.0.1:{metrics_port}"])
    return proc, dns_port, grpc_port, f"127.0.0.1:{metrics_port}"


def query(name: str = "who.example.org") -> dns.message.Message:
    return dns.message.make_query(name, "A")


def whoami_address(reply: dns.message.Message) -> str:
    """The client address whoami saw (its A or AAAA record in the additional section)."""
    for rrset in reply.additional:
        if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            return rrset[0].address
    raise AssertionError(f"no address record in {reply}")


def assert_limited_after_burst(ask) -> int:
    """`ask()` -> rcode: the first BURST are answered, and one of the next AFTER_BURST is REFUSED; returns how
    many were REFUSED (each counted once by the server)."""
    first = [ask() for _ in range(BURST)]
    assert first == [NOERROR] * BURST, f"the burst was not answered: {first}"
    after = [ask() for _ in range(AFTER_BURST)]
    assert REFUSED in after, f"no REFUSED past the burst: {after}"
    assert set(after) <= {NOERROR, REFUSED}, after
    return after.count(REFUSED)


def udp_from(source: str, port: int) -> int:
    reply = dns.query.udp(query(), "127.0.0.1", port=port, source=source, timeout=TIMEOUT)
    if reply.rcode() == NOERROR:
        assert whoami_address(reply) == source, "the query did not leave from the source asked for"
    return reply.rcode()


def test_a_udp_client_is_refused_past_its_rate_while_another_is_answered(dnsgrpcd, tmp_path):
    _, port, _, metrics_addr = start(dnsgrpcd, tmp_path)
    refused = assert_limited_after_burst(lambda: udp_from("127.0.0.1", port))
    assert udp_from("127.0.0.2", port) == NOERROR, "another client shares no bucket with the limited one"
    assert udp_from("127.0.0.1", port) in (NOERROR, REFUSED)
    metrics = support.scrape(metrics_addr)
    server = f"dns://127.0.0.1:{port}"
    assert metrics.value("dnsgrpcd_ratelimit_limited_total", server=server, action="refuse") >= refused
    assert metrics.value("dnsgrpcd_ratelimit_clients", server=server) == 2
    assert metrics.value("coredns_dns_responses_total", rcode="REFUSED") >= refused


def test_a_tcp_client_is_refused_past_its_rate_on_one_connection(dnsgrpcd, tmp_path):
    _, port, _, _ = start(dnsgrpcd, tmp_path)
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT, source_address=("127.0.0.1", 0)) as sock:
        assert_limited_after_burst(lambda: dns.query.tcp(query(), "127.0.0.1", port=port, sock=sock,
                                                         timeout=TIMEOUT).rcode())
    reply = dns.query.tcp(query(), "127.0.0.1", port=port, source="127.0.0.2", timeout=TIMEOUT)
    assert reply.rcode() == NOERROR and whoami_address(reply) == "127.0.0.2"


def test_a_grpc_client_is_refused_past_its_rate_while_another_is_answered(dnsgrpcd, tmp_path):
    _, dns_port, grpc_port, _ = start(dnsgrpcd, tmp_path)
    with support.DnsServiceClient(f"127.0.0.1:{grpc_port}") as client:
        assert_limited_after_burst(lambda: dns.message.from_wire(client.query(query().to_wire())).rcode())
    # Another client over gRPC (::1), and the limited one's address over UDP: both limited per address, not
    # per transport, so the UDP query from 127.0.0.1 draws on the same (empty) bucket as its gRPC calls.
    with support.DnsServiceClient(f"[::1]:{grpc_port}") as other:
        reply = dns.message.from_wire(other.query(query().to_wire()))
        assert reply.rcode() == NOERROR and whoami_address(reply) == "::1"
    assert udp_from("127.0.0.2", dns_port) == NOERROR


def test_a_dropped_query_is_logged_as_coredns_logs_an_unanswered_one(dnsgrpcd, tmp_path):
    """`log` before the rate limit: an answered query's line has its rcode, a dropped one's `-` for the rcode and the
    flags and 0 for the size (CoreDNS's replacer for a query no plugin answered), in the error class."""
    proc, port, _, _ = start(dnsgrpcd, tmp_path, options="action drop", rate="1 1", extra="log . {\n        class error\n    }")
    sent = 6
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        for i in range(sent):
            sock.sendto(query(f"q{i}.drop.example.org").to_wire(), ("127.0.0.1", port))
        # The first is within the burst and answered, so `class error` leaves it out of the log.
        sock.settimeout(TIMEOUT)
        assert dns.message.from_wire(sock.recv(4096)).rcode() == NOERROR
    log = proc.wait_for_log('" - - 0 ')
    lines = [line for line in log.splitlines() if ".drop.example.org." in line]
    assert lines and all('" - - 0 ' in line for line in lines), lines
    assert not any("q0.drop.example.org." in line for line in lines), lines


def test_drop_sends_nothing_over_udp_and_counts_every_query(dnsgrpcd, tmp_path):
    _, port, _, metrics_addr = start(dnsgrpcd, tmp_path, options="action drop", rate="1 2")
    server = f"dns://127.0.0.1:{port}"
    sent = 12
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        for i in range(sent):
            message = query()
            message.id = i
            sock.sendto(message.to_wire(), ("127.0.0.1", port))
        # Wait for the server to have dealt with every query (answered or dropped), not for time to pass. One
        # scrape is not one instant: the rate limit's counter is read before the query counters, so a scrape taken
        # while queries are still being decided may show more requests than answers and drops. Wait for all three.
        def settled() -> support.Metrics | None:
            m = support.scrape(metrics_addr)
            done = m.value("dnsgrpcd_ratelimit_limited_total", server=server, action="drop") \
                + m.value("coredns_dns_responses_total", server=server)
            return m if done >= sent and m.value("coredns_dns_requests_total", server=server) >= sent else None

        metrics = support.wait_until(settled, timeout=TIMEOUT, what=f"{sent} queries answered or dropped")
        dropped = metrics.value("dnsgrpcd_ratelimit_limited_total", server=server, action="drop")
        answered = metrics.value("coredns_dns_responses_total", server=server)
        assert dropped >= 1 and answered + dropped == sent, (answered, dropped)
        assert metrics.value("coredns_dns_requests_total", server=server) == sent
        # Every reply is in the socket by now: exactly `answered` of them, none REFUSED.
        sock.settimeout(TIMEOUT)
        replies = [dns.message.from_wire(sock.recv(4096)) for _ in range(int(answered))]
        assert all(reply.rcode() == NOERROR for reply in replies)
        sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            sock.recv(4096)
    assert udp_from("127.0.0.2", port) == NOERROR


def test_drop_ends_a_grpc_call_with_resource_exhausted(dnsgrpcd, tmp_path):
    _, _, grpc_port, metrics_addr = start(dnsgrpcd, tmp_path, options="action drop", rate="1 2")
    codes = []
    with support.DnsServiceClient(f"127.0.0.1:{grpc_port}") as client:
        for _ in range(2 + AFTER_BURST):
            try:
                client.query(query().to_wire())
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as error:
                codes.append(error.code())
    assert codes[:2] == [grpc.StatusCode.OK] * 2
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes[2:] and set(codes) <= {grpc.StatusCode.OK,
                                                                                 grpc.StatusCode.RESOURCE_EXHAUSTED}
    metrics = support.scrape(metrics_addr)
    assert metrics.value("dnsgrpcd_ratelimit_limited_total", action="drop") == \
        codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert metrics.value("dnsgrpcd_grpc_server_handled_total", code="RESOURCE_EXHAUSTED") == \
        codes.count(grpc.StatusCode.RESOURCE_EXHAUSTED)


def test_drop_answers_a_doh_request_with_429(dnsgrpcd, tmp_path):
    """A plain-HTTP DoH listener (as behind a TLS-terminating proxy): over the rate, HTTP 429 and no DNS message."""
    port = support.free_port()
    corefile = support.write_corefile(tmp_path, f"""
https://.:{port} {{
    bind 127.0.0.1
    ratelimit 1 2 {{
        action drop
    }}
    whoami
}}
""")
    dnsgrpcd("-conf", str(corefile), wait_for=[f"127.0.0.1:{port}"])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    statuses = []
    try:
        for _ in range(2 + AFTER_BURST):
            connection.request("POST", "/dns-query", body=query().to_wire(),
                               headers={"Content-Type": "application/dns-message"})
            response = connection.getresponse()
            body = response.read()
            statuses.append(response.status)
            if response.status == 200:
                assert dns.message.from_wire(body).rcode() == NOERROR
    finally:
        connection.close()
    assert statuses[:2] == [200, 200] and 429 in statuses[2:] and set(statuses) <= {200, 429}, statuses


def test_exempt_clients_are_never_limited(dnsgrpcd, tmp_path):
    _, port, _, _ = start(dnsgrpcd, tmp_path, options="exempt 127.0.0.2/32", rate="1 1")
    assert [udp_from("127.0.0.2", port) for _ in range(BURST + AFTER_BURST)] == [NOERROR] * (BURST + AFTER_BURST)
    assert REFUSED in [udp_from("127.0.0.1", port) for _ in range(AFTER_BURST)]


def test_bad_values_stop_start_up_with_file_and_line(tmp_path):
    corefile = support.write_corefile(tmp_path, ".:0 {\n    ratelimit 10 {\n        ipv4_prefix 33\n    }\n}\n")
    result = support.run_dnsgrpcd("-conf", str(corefile), "-validate")
    assert result.returncode == 1
    assert f"{corefile}:3: ipv4_prefix 33 is out of range; expected a prefix length from 1 to 32" in \
        result.stdout + result.stderr
