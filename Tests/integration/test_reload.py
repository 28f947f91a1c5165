"""Reload without losing a query (issue 22): under steady UDP and TCP load, reloads (SIGHUP, or `reload` seeing the
file change) hand the running sockets to the new configuration; every query is answered, by one configuration or
the other, never REFUSED or lost. gRPC calls in flight across a reload are answered; an invalid Corefile mid-load
changes nothing and loses nothing."""

from __future__ import annotations

import os
import signal
import threading
import time

import dns.message
import dns.query
import dns.rcode
import pytest

import support

ASK = 10.0  # bounds a hang; a lost query is one that gets no reply in this long


class Load:
    """Clients asking TXT questions one after the other until stopped: `udp` threads over UDP, `tcp` threads over
    TCP (a connection per query, as stub resolvers do). Every reply must be NOERROR with one of `tags`."""

    def __init__(self, addr: str, tags: set[str], udp: int = 4, tcp: int = 2):
        self.host, self.port = support.split_hostport(addr)
        self.tags = tags
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.answered = 0
        self.problems: list[str] = []
        self.threads = [threading.Thread(target=self.client, args=(f"u{i}", False), daemon=True) for i in range(udp)]
        self.threads += [threading.Thread(target=self.client, args=(f"t{i}", True), daemon=True) for i in range(tcp)]

    def __enter__(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=ASK * 2)

    def client(self, name: str, tcp: bool) -> None:
        n = 0
        while not self.stop_event.is_set():
            n += 1
            query = dns.message.make_query(f"{name}-{n}.reload.example", "TXT")
            try:
                if tcp:
                    reply = dns.query.tcp(query, self.host, port=self.port, timeout=ASK)
                else:
                    reply = dns.query.udp(query, self.host, port=self.port, timeout=ASK)
                problem = None
                if reply.rcode() != dns.rcode.NOERROR or support.txt_tag(reply) not in self.tags:
                    problem = f"{query.question[0].name}: {dns.rcode.to_text(reply.rcode())} {support.txt_tag(reply)}"
            except Exception as e:  # noqa: BLE001 - a lost query is the failure this counts
                problem = f"{query.question[0].name} over {'TCP' if tcp else 'UDP'}: {e!r}"
            with self.lock:
                if problem:
                    self.problems.append(problem)
                else:
                    self.answered += 1

    def wait_for_more(self, count: int) -> None:
        start = self.answered
        support.wait_until(lambda: self.answered >= start + count, timeout=60, what=f"{count} more answers")


def corefile(port: int, metrics: int, upstream: str, extra: str = "") -> str:
    return f"""
        .:{port} {{
            bind 127.0.0.1
            forward . {upstream}
            prometheus 127.0.0.1:{metrics}
            {extra}
        }}
        grpc://.:{{GRPC}} {{
            bind 127.0.0.1
            forward . {upstream}
        }}
        """


def write(path, port: int, grpc: int, metrics: int, upstream: str, extra: str = "") -> None:
    path.write_text(corefile(port, metrics, upstream, extra).replace("{GRPC}", str(grpc)))


@pytest.fixture
def responders():
    a, b = support.TaggedResponder("a").start(), support.TaggedResponder("b").start()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def reloads_done(proc) -> int:
    return proc.log(limit=10_000_000).count("configuration reloaded")


def test_ten_sighups_under_udp_and_tcp_load_lose_nothing(dnsgrpcd, responders, tmp_path):
    a, b = responders
    port, grpc, metrics = support.free_port(), support.free_port(), support.free_port()
    path = tmp_path / "Corefile"
    write(path, port, grpc, metrics, a.addr)
    proc = dnsgrpcd("-conf", path, wait_for=[f"127.0.0.1:{port}", f"127.0.0.1:{grpc}"])
    with Load(f"127.0.0.1:{port}", {"a", "b"}) as load:
        load.wait_for_more(50)
        for i in range(10):
            write(path, port, grpc, metrics, (b if i % 2 == 0 else a).addr)
            os.kill(proc.pid, signal.SIGHUP)
            support.wait_until(lambda: reloads_done(proc) >= i + 1, timeout=60, what=f"reload {i + 1}")
            load.wait_for_more(50)
    assert load.problems == [], load.problems[:20]
    assert load.answered >= 550
    assert a.queries and b.queries, "both configurations answered"
    m = support.scrape(f"127.0.0.1:{metrics}")
    assert m.value("dnsgrpcd_reloads_total", result="success") == 10
    assert m.value("coredns_reload_failed_total") == 0
    assert "handed-on=true" in proc.log(limit=10_000_000), "the UDP sockets were taken over, not bound again"


def test_reload_directive_under_load_loses_nothing(dnsgrpcd, responders, tmp_path):
    a, b = responders
    port, grpc, metrics = support.free_port(), support.free_port(), support.free_port()
    path = tmp_path / "Corefile"
    write(path, port, grpc, metrics, a.addr, "reload 2s 1s")
    proc = dnsgrpcd("-conf", path, wait_for=[f"127.0.0.1:{port}"])
    with Load(f"127.0.0.1:{port}", {"a", "b"}) as load:
        load.wait_for_more(50)
        for i in range(3):
            write(path, port, grpc, metrics, (b if i % 2 == 0 else a).addr, "reload 2s 1s")
            support.wait_until(lambda: reloads_done(proc) >= i + 1, timeout=60, what=f"reload {i + 1}")
            load.wait_for_more(50)
    assert load.problems == [], load.problems[:20]


def test_grpc_calls_in_flight_across_a_reload_are_answered(dnsgrpcd, tmp_path):
    with support.TaggedResponder("slow", delay=1.0) as slow:
        port, grpc, metrics = support.free_port(), support.free_port(), support.free_port()
        path = tmp_path / "Corefile"
        write(path, port, grpc, metrics, slow.addr)
        proc = dnsgrpcd("-conf", path, wait_for=[f"127.0.0.1:{grpc}"])
        with support.DnsServiceClient(f"127.0.0.1:{grpc}") as client:
            # Warm the channel, then put twenty calls in flight (each waits a second upstream) and reload.
            client.query(dns.message.make_query("warm.example", "TXT").to_wire(), timeout=ASK)
            futures = [client.query_future(dns.message.make_query(f"c{i}.example", "TXT").to_wire(), timeout=ASK)
                       for i in range(20)]
            support.wait_until(lambda: slow.in_flight >= 20, timeout=30, what="the calls reached the upstream")
            os.kill(proc.pid, signal.SIGHUP)
            replies = [dns.message.from_wire(f.result(timeout=ASK * 2).msg) for f in futures]
        assert all(r.rcode() == dns.rcode.NOERROR and support.txt_tag(r) == "slow" for r in replies)
        support.wait_until(lambda: reloads_done(proc) >= 1, timeout=60, what="the reload")


def test_an_invalid_corefile_mid_load_changes_nothing_and_loses_nothing(dnsgrpcd, responders, tmp_path):
    a, _ = responders
    port, grpc, metrics = support.free_port(), support.free_port(), support.free_port()
    path = tmp_path / "Corefile"
    write(path, port, grpc, metrics, a.addr)
    proc = dnsgrpcd("-conf", path, wait_for=[f"127.0.0.1:{port}"])
    with Load(f"127.0.0.1:{port}", {"a"}) as load:
        load.wait_for_more(50)
        path.write_text(path.read_text() + "\n.:{port} {\n    rewrite name a b\n}\n".replace("{port}", str(port)))
        os.kill(proc.pid, signal.SIGHUP)
        support.wait_until(lambda: "reload failed" in proc.log(limit=10_000_000), timeout=60, what="the failure")
        load.wait_for_more(100)
    assert load.problems == [], load.problems[:20]
    log = proc.log(limit=10_000_000)
    assert f"{path}:" in log and "unknown directive 'rewrite'" in log
    m = support.scrape(f"127.0.0.1:{metrics}")
    assert m.value("coredns_reload_failed_total") == 1
    assert m.value("dnsgrpcd_reloads_total", result="failure") == 1
