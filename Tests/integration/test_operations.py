"""Operations: Prometheus metrics under CoreDNS's names, /health and /ready, the gRPC health service, the query
and error logs, and graceful shutdown on SIGTERM.

Every counter is asserted against traffic this test sent itself, on a daemon of its own.
"""

from __future__ import annotations

import signal
import socket
import struct
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import grpc
import pytest

import support


def write_corefile(tmp_path: Path, text: str) -> str:
    path = tmp_path / "Corefile"
    path.write_text(text)
    return str(path)


def udp_query(addr: str, name: str, rdtype: str = "A", timeout: float = support.CALL_TIMEOUT) -> dns.message.Message:
    host, port = support.split_hostport(addr)
    return dns.query.udp(dns.message.make_query(name, rdtype), host, port=port, timeout=timeout)


def tcp_query(addr: str, name: str, rdtype: str = "A", timeout: float = support.CALL_TIMEOUT) -> dns.message.Message:
    host, port = support.split_hostport(addr)
    return dns.query.tcp(dns.message.make_query(name, rdtype), host, port=port, timeout=timeout)


def send_udp(addr: str, name: str) -> tuple[socket.socket, dns.message.Message]:
    """Sends one query on a socket of its own and returns it without waiting for the reply."""
    host, port = support.split_hostport(addr)
    query = dns.message.make_query(name, "A")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.sendto(query.to_wire(), (host, port))
    return sock, query


def receive_udp(sock: socket.socket, query: dns.message.Message,
                timeout: float = support.CALL_TIMEOUT) -> dns.message.Message:
    sock.settimeout(timeout)
    try:
        wire, _ = sock.recvfrom(65535)
    finally:
        sock.close()
    reply = dns.message.from_wire(wire)
    assert reply.id == query.id
    return reply


@pytest.fixture
def ops_ports():
    return {name: support.free_port() for name in ("dns", "grpc", "metrics", "health", "ready", "dead")}


@pytest.fixture
def slow_upstream():
    # 1 s: time enough for a second query to come while the first is held, however slowly a loaded machine sends
    # it, and a second short of the 2 s exchange timeout.
    with support.SlowDnsServer(delay=1.0) as server:
        yield server


def test_metrics_after_known_traffic(dnsgrpcd, knot, dns_grpc_server, slow_upstream, tmp_path, ops_ports):
    slow = slow_upstream
    fast = dns_grpc_server(tag="fast")
    p = ops_ports
    dns_addr, grpc_addr, metrics_addr = f"127.0.0.1:{p['dns']}", f"127.0.0.1:{p['grpc']}", f"127.0.0.1:{p['metrics']}"
    dead = f"127.0.0.1:{p['dead']}"  # nothing listens: every exchange fails at once (ICMP port unreachable)
    conf = write_corefile(tmp_path, f"""
example.org:{p['dns']} {{
    bind 127.0.0.1
    prometheus {metrics_addr}
    errors
    log
    forward . {knot.addr}
}}
fail.test:{p['dns']} {{
    bind 127.0.0.1
    errors
    log
    forward . {dead}
}}
slow.test:{p['dns']} {{
    bind 127.0.0.1
    forward . {slow.addr} {{
        max_concurrent 1
    }}
}}
grpc.test:{p['dns']} {{
    bind 127.0.0.1
    errors
    grpc . {fast.addr}
}}
grpc://example.org:{p['grpc']} {{
    bind 127.0.0.1
    forward . {knot.addr}
}}
""")
    proc = dnsgrpcd("-conf", conf, "--log-level", "info", wait_for=[dns_addr, grpc_addr, metrics_addr])

    # A gRPC channel connects on its first call; make sure it has before counting (bounded retries).
    warm_up = 0
    while True:
        warm_up += 1
        if udp_query(dns_addr, f"warm{warm_up}.grpc.test.").rcode() == dns.rcode.NOERROR:
            break
        assert warm_up < 10, "the grpc upstream never answered"
        time.sleep(0.5)

    # Known traffic.
    for _ in range(3):
        assert udp_query(dns_addr, "www.example.org.").rcode() == dns.rcode.NOERROR
    assert tcp_query(dns_addr, "www.example.org.", "MX").rcode() == dns.rcode.NOERROR
    assert udp_query(dns_addr, "x.fail.test.").rcode() == dns.rcode.SERVFAIL
    assert udp_query(dns_addr, "a.grpc.test.").rcode() == dns.rcode.NOERROR
    # Two queries at once against max_concurrent 1 and an upstream that takes 1 s: the second is REFUSED. It is
    # sent once the first has reached the upstream (and so holds the only slot), not after a fixed wait.
    first = send_udp(dns_addr, "one.slow.test.")
    support.wait_until(lambda: slow.queries >= 1, support.READY_TIMEOUT, "the first slow query reached the upstream",
                       interval=0.01)
    second = send_udp(dns_addr, "two.slow.test.")
    assert receive_udp(*second).rcode() == dns.rcode.REFUSED
    assert receive_udp(*first).rcode() == dns.rcode.NOERROR
    # gRPC: two answered, one body that is not a DnsPacket.
    with support.DnsServiceClient(grpc_addr) as client:
        for _ in range(2):
            client.query(dns.message.make_query("www.example.org.", "A").to_wire())
        with pytest.raises(grpc.RpcError) as refused:
            client.call_raw(b"\xff\xff\xff")
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # A datagram that is not DNS at all: no reply to wait for, so its counter is waited for.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as junk:
        junk.sendto(b"\x01\x02\x03", support.split_hostport(dns_addr))
    support.wait_for_metric(metrics_addr, "dnsgrpcd_listener_dropped_total", 1, reason="malformed_udp")

    # The failed exchange starts health checks against the dead upstream; they fail in the background.
    m = support.wait_for_metric(metrics_addr, "coredns_forward_healthcheck_failures_total", 1, to=dead)

    server = f"dns://127.0.0.1:{p['dns']}"
    assert m.value("coredns_dns_requests_total", server=server, zone="example.org.", view="", proto="udp",
                   family="1", type="A") == 3
    assert m.value("coredns_dns_requests_total", server=server, zone="example.org.", proto="tcp", type="MX") == 1
    assert m.value("coredns_dns_responses_total", server=server, zone="example.org.", rcode="NOERROR",
                   plugin="") == 4
    assert m.value("coredns_dns_responses_total", server=server, zone="fail.test.", rcode="SERVFAIL") == 1
    assert m.value("coredns_dns_responses_total", server=server, zone="slow.test.", rcode="REFUSED") == 1
    assert m.value("coredns_dns_responses_total", server=server, zone="slow.test.", rcode="NOERROR") == 1
    assert m.value("coredns_dns_request_duration_seconds_count", server=server, zone="example.org.", type="A") == 3
    assert m.value("coredns_dns_request_size_bytes_count", server=server, zone="example.org.", proto="udp") == 3
    assert m.value("coredns_dns_response_size_bytes_count", server=server, zone="example.org.", proto="tcp") == 1

    assert m.value("coredns_forward_requests_total", to=knot.addr) == 6  # 3 UDP + 1 TCP + 2 gRPC-listener
    assert m.value("coredns_forward_responses_total", to=knot.addr, rcode="NOERROR") == 6
    assert m.value("coredns_forward_request_duration_seconds_count", to=knot.addr, rcode="NOERROR") == 6
    assert m.value("coredns_forward_requests_total", to=dead) == 1
    assert m.value("coredns_forward_responses_total", to=dead) == 0
    assert m.value("coredns_forward_max_concurrent_rejects_total") == 1
    assert m.value("coredns_forward_requests_total", to=slow.addr) == 1

    assert m.value("coredns_grpc_requests_total", to=fast.addr) == warm_up + 1
    assert m.value("coredns_grpc_responses_total", to=fast.addr, rcode="NOERROR") == 2
    assert m.value("coredns_grpc_request_duration_seconds_count", to=fast.addr) == 2

    grpc_server = f"grpc://127.0.0.1:{p['grpc']}"
    assert m.value("coredns_dns_requests_total", server=grpc_server, zone="example.org.", proto="tcp") == 2
    assert m.value("dnsgrpcd_grpc_server_handled_total", method="/coredns.dns.DnsService/Query", code="OK") == 2
    assert m.value("dnsgrpcd_grpc_server_handled_total", method="/coredns.dns.DnsService/Query",
                   code="INVALID_ARGUMENT") == 1
    assert m.value("dnsgrpcd_listener_dropped_total", reason="malformed_grpc") == 1
    assert m.value("dnsgrpcd_listener_dropped_total", reason="malformed_udp") == 1
    assert m.value("dnsgrpcd_upstream_pooled_connections", to=knot.addr) >= 1
    assert m.value("dnsgrpcd_upstream_healthy", to=knot.addr) == 1
    assert {"server": grpc_server} in m.labelsets("dnsgrpcd_grpc_calls_in_service")
    assert m.value("dnsgrpcd_grpc_calls_in_service", server=grpc_server) == 0  # all answered
    assert m.value("dnsgrpcd_upstream_mismatched_replies_total", to=knot.addr) == 0
    assert "dnsgrpcd_tls_handshake_failures" in m.families
    # Histograms use CoreDNS's buckets (0.25ms doubling).
    buckets = {s.labels["le"] for s in m.samples if s.name == "coredns_dns_request_duration_seconds_bucket"}
    assert {"0.00025", "0.0005", "8.192", "+Inf"} <= buckets

    # The query log (CoreDNS's common format) and the errors plugin (its lines can follow the answers by a moment).
    wanted = ('"A IN www.example.org. udp ', " NOERROR qr,aa,rd", '"MX IN www.example.org. tcp ',
              "plugin/errors: 2 x.fail.test. A:")
    try:
        support.wait_until(lambda: all(text in proc.log() for text in wanted), support.READY_TIMEOUT, "the log lines")
    except AssertionError:
        pass  # the assertions below tell which is missing
    log = proc.log()
    assert f'"A IN www.example.org. udp ' in log and " NOERROR qr,aa,rd" in log, log
    assert '"MX IN www.example.org. tcp ' in log, log
    assert "plugin/errors: 2 x.fail.test. A:" in log, log


def test_health_and_ready_follow_upstreams(dnsgrpcd, tmp_path, ops_ports):
    p = ops_ports
    upstream_port = support.free_port()
    health_addr, ready_addr = f"127.0.0.1:{p['health']}", f"127.0.0.1:{p['ready']}"
    dns_addr, grpc_addr = f"127.0.0.1:{p['dns']}", f"127.0.0.1:{p['grpc']}"
    conf = write_corefile(tmp_path, f"""
.:{p['dns']} {{
    bind 127.0.0.1
    health {health_addr} {{
        lameduck 5s
    }}
    ready {ready_addr}
    forward . 127.0.0.1:{upstream_port}
}}
grpc://.:{p['grpc']} {{
    bind 127.0.0.1
    forward . 127.0.0.1:{upstream_port}
}}
""")
    proc = dnsgrpcd("-conf", conf, wait_for=[dns_addr, grpc_addr, health_addr, ready_addr])

    # The upstream is not there yet: alive, not ready.
    assert support.http_get(health_addr, "/health") == (200, "OK")
    status, _ = support.http_get(ready_addr, "/ready")
    assert status == 503
    assert support.http_get(health_addr, "/nope")[0] == 404

    knot = support.start_knotd(tmp_path / "late-knot", port=upstream_port)
    try:
        assert support.wait_for_http(ready_addr, "/ready", 200, proc=proc) == "OK"
        assert udp_query(dns_addr, "www.example.org.").rcode() == dns.rcode.NOERROR

        from grpc_health.v1 import health_pb2
        assert support.grpc_health_check(grpc_addr) == health_pb2.HealthCheckResponse.SERVING

        # Lame duck: after SIGTERM /health still says OK, /ready and the gRPC health service do not, and
        # queries are still answered. The checks take milliseconds; the lame duck lasts 5 s, so that a loaded
        # machine still makes them inside it.
        proc.popen.send_signal(signal.SIGTERM)
        support.wait_for_http(ready_addr, "/ready", 503, timeout=5)
        assert support.http_get(health_addr, "/health") == (200, "OK")
        assert support.grpc_health_check(grpc_addr) == health_pb2.HealthCheckResponse.NOT_SERVING
        assert udp_query(dns_addr, "www.example.org.").rcode() == dns.rcode.NOERROR
        assert proc.stop() == 0
    finally:
        knot.stop()


def test_grpc_health_service(dnsgrpcd, knot, ops_ports):
    from grpc_health.v1 import health_pb2
    grpc_addr = f"127.0.0.1:{ops_ports['grpc']}"
    dnsgrpcd("--grpc", grpc_addr, "--upstream", knot.addr)

    assert support.grpc_health_check(grpc_addr) == health_pb2.HealthCheckResponse.SERVING
    assert support.grpc_health_check(grpc_addr, "coredns.dns.DnsService") == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as unknown:
        support.grpc_health_check(grpc_addr, "no.such.Service")
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_sigterm_answers_queries_in_flight(dnsgrpcd, dns_grpc_server, tmp_path, ops_ports):
    # A gRPC upstream (the grpc plugin) that holds each query for 1s: SIGTERM comes while all of them wait.
    slow = dns_grpc_server(tag="slow", extra_args=("--delay", "1.0", "--workers", "64"))
    dns_addr = f"127.0.0.1:{ops_ports['dns']}"
    metrics_addr = f"127.0.0.1:{ops_ports['metrics']}"
    conf = write_corefile(tmp_path, f"""
.:{ops_ports['dns']} {{
    bind 127.0.0.1
    prometheus {metrics_addr}
    grpc . {slow.addr}
}}
""")
    proc = dnsgrpcd("-conf", conf, "--shutdown-grace", "5s", wait_for=[dns_addr, metrics_addr])
    support.wait_until(lambda: udp_query(dns_addr, "warm.up.").rcode() == dns.rcode.NOERROR, support.READY_TIMEOUT,
                       "the gRPC upstream answers")
    warm = support.scrape(metrics_addr).value("coredns_grpc_requests_total", to=slow.addr)

    in_flight = [send_udp(dns_addr, f"q{i}.burst.") for i in range(30)]
    host, port = support.split_hostport(dns_addr)
    tcp = socket.create_connection((host, port), timeout=5)
    tcp_query_msg = dns.message.make_query("tcp.burst.", "A")
    wire = tcp_query_msg.to_wire()
    tcp.sendall(struct.pack("!H", len(wire)) + wire)
    # Every query has reached the daemon and gone upstream, which holds each for 1 s (waited for, not assumed).
    support.wait_for_metric(metrics_addr, "coredns_grpc_requests_total", warm + 31, to=slow.addr)
    proc.popen.send_signal(signal.SIGTERM)

    for sock, query in in_flight:
        reply = receive_udp(sock, query)
        assert reply.rcode() == dns.rcode.NOERROR, f"{query.question[0].name}: {dns.rcode.to_text(reply.rcode())}"
        assert reply.answer, f"{query.question[0].name}: empty answer"
    tcp.settimeout(support.CALL_TIMEOUT)
    length = struct.unpack("!H", recv_exactly(tcp, 2))[0]
    tcp_reply = dns.message.from_wire(recv_exactly(tcp, length))
    tcp.close()
    assert tcp_reply.id == tcp_query_msg.id and tcp_reply.rcode() == dns.rcode.NOERROR
    assert proc.stop() == 0


def recv_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise AssertionError(f"connection closed after {len(data)} of {count} bytes")
        data += chunk
    return data
