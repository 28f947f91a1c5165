"""The forwarding engine against independent upstreams: load-balancing policies, failover and health checks,
spraying, spoofing resistance, connection reuse and max_concurrent.

Each upstream is a support.TaggedResponder (a small dnspython server on its own loopback port) that tags its TXT
answers and counts the queries, health checks, UDP source ports and TCP connections it saw. dnsgrpcd runs from a
Corefile written to the test's temp dir; clients are dnspython over UDP. Every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

import support

NOERROR, SERVFAIL, REFUSED = dns.rcode.NOERROR, dns.rcode.SERVFAIL, dns.rcode.REFUSED


@pytest.fixture
def responders():
    """Factory: responders(n, **kwargs) -> n started TaggedResponders tagged a, b, c...; all stopped afterwards."""
    started: list[support.TaggedResponder] = []

    def make(count: int, **kwargs) -> list[support.TaggedResponder]:
        made = []
        for i in range(count):
            r = support.TaggedResponder("abcdefghijklmno"[len(started)], **kwargs).start()
            started.append(r)
            made.append(r)
        return made

    try:
        yield make
    finally:
        for r in started:
            r.stop()


@pytest.fixture
def forwarder(dnsgrpcd, tmp_path):
    """Factory: forwarder(upstreams, *options, metrics=None) -> the DNS port of dnsgrpcd forwarding `.` to them with
    `options`; with `metrics` (HOST:PORT) the block serves /metrics there too."""

    def start(upstreams: list[support.TaggedResponder], *options: str, metrics: str | None = None) -> int:
        port = support.free_port()
        conf = tmp_path / f"Corefile-{port}"
        plugins = [f"prometheus {metrics}"] if metrics else []
        conf.write_text(support.forward_corefile(port, [u.addr for u in upstreams], options, plugins=plugins))
        dnsgrpcd("-conf", str(conf), "--log-level", "debug",
                 wait_for=[f"127.0.0.1:{port}"] + ([metrics] if metrics else []))
        return port

    return start


# A query is answered in milliseconds, or after the 2 s exchange timeout and the next upstream; this only bounds a
# lost one, on a machine a build may be loading.
ASK_TIMEOUT = 15.0


def ask(port: int, name: str = "q.example.org.", timeout: float = ASK_TIMEOUT) -> dns.message.Message:
    """One TXT query over UDP to dnsgrpcd; the reply (it must answer this query)."""
    query = dns.message.make_query(name, "TXT")
    reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=timeout)
    assert reply.id == query.id and reply.question == query.question
    return reply


def ask_many(port: int, count: int, workers: int = 1, prefix: str = "q") -> list[dns.message.Message]:
    """`count` queries (distinct names) from `workers` concurrent clients."""
    names = [f"{prefix}{i}.example.org." for i in range(count)]
    if workers == 1:
        return [ask(port, n) for n in names]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda n: ask(port, n), names))


def tags(replies) -> dict[str | None, int]:
    out: dict[str | None, int] = {}
    for r in replies:
        key = support.txt_tag(r) if r.rcode() == NOERROR else dns.rcode.to_text(r.rcode())
        out[key] = out.get(key, 0) + 1
    return out


# --- policies ------------------------------------------------------------------------------------------------------

def test_round_robin_spreads_300_queries_100_each(responders, forwarder):
    ups = responders(3)
    port = forwarder(ups, "policy round_robin")
    replies = ask_many(port, 300)
    assert [u.queries for u in ups] == [100, 100, 100]
    assert tags(replies) == {"a": 100, "b": 100, "c": 100}


def test_sequential_uses_the_first_until_it_stops(responders, forwarder):
    ups = responders(3)
    port = forwarder(ups, "policy sequential")
    assert tags(ask_many(port, 30)) == {"a": 30}
    assert [u.queries for u in ups] == [30, 0, 0]
    ups[0].stop()
    assert tags(ask_many(port, 30, prefix="after")) == {"b": 30}, "no SERVFAIL, all from the second"
    assert ups[2].queries == 0


def test_random_touches_all_three(responders, forwarder):
    ups = responders(3)
    port = forwarder(ups)  # random is the default
    ask_many(port, 150)
    # Each has 1/3 per query: fewer than 20 of 150 is over 5 standard deviations away.
    assert all(u.queries >= 20 for u in ups), ups


def test_least_conn_gives_a_slow_upstream_few(responders, forwarder):
    fast = responders(2)
    # 0.8 s: far slower than a fast upstream on a loaded machine (tens of ms), well inside the 2 s exchange timeout.
    slow = responders(1, delay=0.8)[0]
    port = forwarder([fast[0], slow, fast[1]], "policy least_conn")
    replies = ask_many(port, 160, workers=8)
    answered = tags(replies)
    assert sum(answered.get(u.tag, 0) for u in (*fast, slow)) == 160, answered
    # least_conn sends a query to an upstream with the fewest in flight. Of 8 clients' queries at most 7 others are
    # in flight then, so the slow one never holds more than 3 (2 each, plus the one it takes; one more for two relay
    # threads picking at once), however slow the machine. Random or round robin pile the clients up on it: 7 or 8.
    assert slow.most_in_flight <= 4, (slow.most_in_flight, slow, fast)
    # Its share: with in-flight counts level, each upstream's share is proportional to 1/latency, so the slow one
    # takes about 2% here (1/3 at random), and under 20% even if the fast ones slow to 0.2 s on a loaded machine.
    # Counted by who answered, so that a retry after a late exchange (a stalled machine) is not counted twice.
    assert answered.get(slow.tag, 0) <= 0.2 * 160, (answered, slow, fast)
    assert all(answered.get(u.tag, 0) >= 0.3 * 160 for u in fast), (answered, slow, fast)


def test_weighted_3_1_0(responders, forwarder):
    ups = responders(3)
    port = forwarder(ups, "policy weighted", "weights 3 1 0")
    ask_many(port, 400)
    a, b, c = (u.queries for u in ups)
    assert c == 0, "weight 0 is failover only"
    assert a + b == 400
    # a's share is 0.75 with a standard deviation of about 0.022 over 400 queries; 0.08 is over 3.5 of them.
    assert abs(a / 400 - 0.75) < 0.08, (a, b, c)


def test_weight_zero_serves_as_failover(responders, forwarder):
    ups = responders(2)
    port = forwarder(ups, "policy weighted", "weights 1 0")
    assert tags(ask_many(port, 10)) == {"a": 10}
    ups[0].stop()
    assert tags(ask_many(port, 10, prefix="after")) == {"b": 10}


# --- failover, health checks, spraying ------------------------------------------------------------------------------

def test_failover_without_servfail_and_recovery_by_health_check(responders, forwarder):
    ups = responders(3)
    port = forwarder(ups)
    results: list[dns.message.Message | Exception] = []
    stop = threading.Event()

    def stream():
        i = 0
        while not stop.is_set() and i < 5000:
            try:
                results.append(ask(port, f"s{i}.example.org."))
            except Exception as e:  # noqa: BLE001 - recorded and asserted below
                results.append(e)
            i += 1
            time.sleep(0.005)

    client = threading.Thread(target=stream, daemon=True)
    client.start()
    try:
        support.wait_until(lambda: len(results) >= 50, 30, "50 queries were answered")
        ups[1].stop()
        stopped_at = len(results)
        support.wait_until(lambda: len(results) >= stopped_at + 100, 60, "100 more queries with b stopped")
        checks_before = ups[1].checks
        before_restart = ups[1].queries
        ups[1].start()
        support.wait_until(lambda: ups[1].queries > before_restart, 30,
                           "the restarted upstream gets queries again")
        assert ups[1].checks > checks_before, "it came back through a health check (. IN NS)"
        support.wait_until(lambda: len(results) >= stopped_at + 150, 30, "the stream goes on")
    finally:
        stop.set()
        client.join(timeout=30)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    assert tags(results).keys() <= {"a", "b", "c"}, tags(results)


def _mark_all_down(port: int, metrics: str, ups: list[support.TaggedResponder]) -> None:
    """Stops every upstream, lets one query fail on all of them and their health checks fail, restarts them."""
    for u in ups:
        u.stop()
    assert ask(port, "dead.example.org.").rcode() == SERVFAIL, "every upstream failed"
    # max_fails 1: the first failed health check (started at once) marks each down; the next check is a minute
    # away, so they stay down after the restart below.
    support.wait_until(lambda: all(support.scrape(metrics).value("dnsgrpcd_upstream_healthy", to=u.addr) == 0
                                   for u in ups), support.READY_TIMEOUT, "every upstream marked down")
    for u in ups:
        u.reset_counts()
        u.start()


def test_all_down_sprays_at_random(responders, forwarder):
    ups = responders(3)
    metrics = f"127.0.0.1:{support.free_port()}"
    port = forwarder(ups, "policy sequential", "max_fails 1", "health_check 60s", metrics=metrics)
    assert tags(ask_many(port, 5)) == {"a": 5}
    _mark_all_down(port, metrics, ups)
    replies = ask_many(port, 30, prefix="spray")
    assert all(r.rcode() == NOERROR for r in replies), tags(replies)
    # Sequential would send all to a; spraying picks among all three at random.
    assert sum(1 for u in ups if u.queries > 0) >= 2, ups
    assert sum(u.queries for u in ups) == 30


def test_all_down_with_failfast_is_servfail(responders, forwarder):
    ups = responders(3)
    metrics = f"127.0.0.1:{support.free_port()}"
    port = forwarder(ups, "policy sequential", "max_fails 1", "health_check 60s",
                     "failfast_all_unhealthy_upstreams", metrics=metrics)
    _mark_all_down(port, metrics, ups)
    replies = ask_many(port, 10, prefix="failfast")
    assert tags(replies) == {"SERVFAIL": 10}
    assert [u.queries for u in ups] == [0, 0, 0], "nothing is sent while every upstream is down"


def test_grpc_upstream_is_health_checked_through_dnsservice(dnsgrpcd, dns_grpc_server, tmp_path):
    """proxy with `protocol grpc insecure`: the health check is a DnsService Query call like the queries."""
    first, second = dns_grpc_server(tag="ga"), dns_grpc_server(tag="gb")
    port, metrics = support.free_port(), f"127.0.0.1:{support.free_port()}"
    conf = tmp_path / "Corefile"
    conf.write_text(f".:{port} {{\n    bind 127.0.0.1\n    prometheus {metrics}\n"
                    f"    proxy . {first.addr} {second.addr} {{\n"
                    f"        protocol grpc insecure\n        policy sequential\n    }}\n}}\n")
    proc = dnsgrpcd("-conf", str(conf), "--log-level", "debug", wait_for=[f"127.0.0.1:{port}", metrics])
    # The first query may wait for the gRPC channel to connect.
    support.wait_until(lambda: support.txt_tag(ask(port, "warm.example.org.")) == "ga", support.READY_TIMEOUT,
                       "the first gRPC upstream answers")
    assert tags(ask_many(port, 5)) == {"ga": 5}
    first.stop()
    assert tags(ask_many(port, 10, prefix="down")) == {"gb": 10}, "failover, no SERVFAIL"
    # Failing health checks (DnsService calls) mark it down (max_fails 2).
    support.wait_until(lambda: support.scrape(metrics).value("dnsgrpcd_upstream_healthy", to=first.addr) == 0,
                       support.READY_TIMEOUT, "the stopped gRPC upstream marked down")
    dns_grpc_server(tag="ga", port=first.port)
    support.wait_until(lambda: support.txt_tag(ask(port)) == "ga", support.READY_TIMEOUT,
                       "the restarted gRPC upstream answers again")
    # It came back through a health check over its own (gRPC) transport (the log line can follow the answer).
    support.wait_until(lambda: [line for line in proc.log().splitlines()
                                if "upstream healthy again" in line and f"upstream=grpc://{first.addr}" in line],
                       support.READY_TIMEOUT, "'upstream healthy again' for the restarted gRPC upstream")


# --- spoofing ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["wrong_id_first", "wrong_question_first", "garbage_first", "other_source_first"])
def test_mismatched_reply_is_dropped_and_the_right_one_taken(responders, forwarder, mode):
    up = responders(1, mode=mode)[0]
    port = forwarder([up])
    replies = ask_many(port, 10)
    assert tags(replies) == {"a": 10}, "never the spoofed reply, always the right one"


def test_udp_reply_larger_than_2048_bytes_comes_through_whole(responders, forwarder):
    """An EDNS0 reply of about 3.5 KB over UDP from the upstream reaches a client that allows 4096 bytes, whole."""
    (up,) = responders(1, mode="big_reply")
    port = forwarder([up], "prefer_udp")
    query = dns.message.make_query("big.example.org.", "TXT", use_edns=0, payload=4096)
    wire = dns.query.udp(query, "127.0.0.1", port=port, timeout=ASK_TIMEOUT).to_wire()
    reply = dns.message.from_wire(wire)
    assert reply.rcode() == NOERROR and not reply.flags & dns.flags.TC
    assert len(wire) > 3000 and sum(len(rrset) for rrset in reply.answer) == 31
    assert len(up.udp_ports) >= 1 and up.tcp_accepted == 0  # it came over UDP, not a TCP retry


def test_udp_reply_over_4096_bytes_is_taken_as_truncated_and_fetched_over_tcp(responders, forwarder):
    """A 6.5 KB UDP reply does not fit the 4096 bytes dnsgrpcd reads from an upstream socket: it counts as truncated.
    A UDP client gets TC (and retries over TCP itself); with prefer_udp a TCP client's query goes out over UDP
    first, and the whole answer is then fetched over TCP."""
    (up,) = responders(1, mode="huge_reply")
    query = dns.message.make_query("huge.example.org.", "TXT", use_edns=0, payload=65000)
    over_udp = dns.query.udp(query, "127.0.0.1", port=forwarder([up]), timeout=ASK_TIMEOUT)
    assert over_udp.rcode() == NOERROR and over_udp.flags & dns.flags.TC and not over_udp.answer
    assert up.tcp_accepted == 0
    up.reset_counts()
    over_tcp = dns.query.tcp(query, "127.0.0.1", port=forwarder([up], "prefer_udp"), timeout=ASK_TIMEOUT)
    assert over_tcp.rcode() == NOERROR and not over_tcp.flags & dns.flags.TC
    assert sum(len(rrset) for rrset in over_tcp.answer) == 61
    assert up.queries == 2 and len(up.udp_ports) == 1 and up.tcp_accepted == 1


def test_queries_leave_with_random_ids(responders, forwarder):
    up = responders(1)[0]
    port = forwarder([up])
    for i in range(30):
        query = dns.message.make_query(f"id{i}.example.org.", "TXT")
        query.id = 4660
        reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=ASK_TIMEOUT)
        assert reply.id == 4660, "the client gets its own ID back"
    # 30 random draws from 65536 IDs collide with probability below 1%, and two in a row land within 16 of each
    # other with probability 16/65536: the client's ID passed through, or a counter, would fail here.
    assert len(set(up.ids)) >= 29 and up.ids.count(4660) <= 1, up.ids
    close_steps = sum(1 for x, y in zip(up.ids, up.ids[1:]) if (y - x) % 65536 < 16)
    assert close_steps <= 2, f"IDs look sequential: {up.ids}"


def test_wrong_question_only_never_reaches_the_client(responders, forwarder):
    spoofer = responders(1, mode="wrong_question_only")[0]
    good = responders(1)[0]
    port = forwarder([spoofer, good], "policy sequential")
    started = time.monotonic()
    reply = ask(port)
    # The spoofed reply is dropped; the exchange times out (2s) and the next upstream answers. (A load can only
    # lengthen the wait: the lower bound shows the spoofed reply ended nothing.)
    assert support.txt_tag(reply) == "b", tags([reply])
    assert spoofer.queries == 1 and good.queries == 1
    assert time.monotonic() - started >= 1.9


# --- connection reuse ----------------------------------------------------------------------------------------------

def test_tcp_connection_is_reused(responders, forwarder):
    up = responders(1)[0]
    port = forwarder([up], "force_tcp")
    assert tags(ask_many(port, 20)) == {"a": 20}
    assert up.tcp_accepted == 1, "20 sequential queries over one pooled connection"


def test_idle_connection_expires(responders, forwarder):
    up = responders(1)[0]
    port = forwarder([up], "force_tcp", "expire 1s")
    ask(port)
    assert up.tcp_accepted == 1 and up.tcp_open == 1
    idle_since = time.monotonic()
    # Closed by the sweep 1 to 1.5 s after its last use; within 8 s tells `expire 1s` from the default 10 s.
    support.wait_until(lambda: up.tcp_open == 0, 8, "the idle connection is closed")
    assert time.monotonic() - idle_since >= 0.9, "not before expire"
    ask(port)
    assert up.tcp_accepted == 2, "a new connection after expiry"


def test_max_idle_conns_caps_the_pool(responders, forwarder):
    # Held 1 s each, so that the six clients' queries are all in flight at once even when a loaded machine starts
    # the client threads slowly (a connection freed early would be reused).
    up = responders(1, delay=1.0)[0]
    port = forwarder([up], "force_tcp", "max_idle_conns 2")
    assert tags(ask_many(port, 6, workers=6)) == {"a": 6}
    assert up.most_in_flight == 6 and up.tcp_accepted == 6, "six concurrent queries, six connections"
    support.wait_until(lambda: up.tcp_open == 2, 15, "only two idle connections are kept")
    ask_many(port, 2, workers=2, prefix="again")
    assert up.tcp_accepted == 6, "the two kept are reused"


def test_without_max_idle_conns_every_connection_is_kept(responders, forwarder):
    up = responders(1, delay=1.0)[0]
    port = forwarder([up], "force_tcp")
    ask_many(port, 6, workers=6)
    assert up.most_in_flight == 6, "six concurrent queries"
    time.sleep(0.5)  # what max_idle_conns 2 would have closed by now (test above): nothing is
    assert up.tcp_accepted == 6 and up.tcp_open == 6


# --- max_concurrent ------------------------------------------------------------------------------------------------

def test_max_concurrent_refuses_the_query_over_the_limit(responders, forwarder):
    # Held 1.5 s: the third query is asked while both are still held, however slowly a loaded machine gets there.
    up = responders(1, delay=1.5)[0]
    port = forwarder([up], "max_concurrent 2")
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = [pool.submit(ask, port, f"slow{i}.example.org.") for i in range(2)]
        support.wait_until(lambda: up.queries >= 2, support.READY_TIMEOUT, "both slow queries reached the upstream")
        over = ask(port, "over.example.org.")
        # REFUSED, not an answer: it neither waited for a slot nor went out (checked by name: a retry of a slow
        # query after a late exchange on a stalled machine would add to the count, not to these names).
        assert over.rcode() == REFUSED, "refused, not queued for a slot"
        assert tags([f.result(timeout=ASK_TIMEOUT) for f in slow]) == {"a": 2}
    assert "over.example.org." not in up.names, "the refused query never reached the upstream"
    assert ask(port, "after.example.org.").rcode() == NOERROR, "below the limit again"


# --- multiplex_udp: many queries in flight on a few long-lived UDP sockets (dnsdist's way) -------------------------

def test_multiplex_udp_carries_concurrent_queries_on_few_long_lived_sockets(responders, forwarder):
    up = responders(1)[0]
    port = forwarder([up], "multiplex_udp")
    replies = ask_many(port, 120, workers=12, prefix="m")
    assert tags(replies) == {"a": 120}
    # Without multiplex_udp 12 concurrent clients take about 12 pooled sockets (test_udp_sockets_are_reused);
    # here every query of an event loop shares that loop's socket. dnsgrpcd runs one loop per core.
    # Each relay thread draws each batch's socket among its 16 to the upstream (RFC 5452 source ports).
    assert 1 <= len(up.udp_ports) <= 16 * len(os.sched_getaffinity(0)), up.udp_ports


@pytest.mark.parametrize("mode", ["wrong_id_first", "wrong_question_first", "garbage_first", "other_source_first"])
def test_multiplex_udp_drops_mismatched_replies(responders, forwarder, mode):
    up = responders(1, mode=mode)[0]
    port = forwarder([up], "multiplex_udp")
    assert tags(ask_many(port, 10, workers=3)) == {"a": 10}, "never the spoofed reply, always the right one"


def test_multiplex_udp_ids_are_random_and_the_client_keeps_its_own(responders, forwarder):
    up = responders(1)[0]
    port = forwarder([up], "multiplex_udp")
    for i in range(30):
        query = dns.message.make_query(f"mid{i}.example.org.", "TXT")
        query.id = 4660
        reply = dns.query.udp(query, "127.0.0.1", port=port, timeout=ASK_TIMEOUT)
        assert reply.id == 4660 and support.txt_tag(reply) == "a"
    assert len(set(up.ids)) >= 29 and up.ids.count(4660) <= 1, up.ids
    close_steps = sum(1 for x, y in zip(up.ids, up.ids[1:]) if (y - x) % 65536 < 16)
    assert close_steps <= 2, f"IDs look sequential: {up.ids}"


def test_multiplex_udp_socket_rotates_after_expire(responders, forwarder):
    up = responders(1)[0]
    port = forwarder([up], "multiplex_udp", "expire 1s")
    assert tags(ask_many(port, 5)) == {"a": 5}
    first = set(up.udp_ports)
    time.sleep(1.3)
    assert tags(ask_many(port, 5, prefix="later")) == {"a": 5}
    assert set(up.udp_ports) - first, f"a new source port after expire: {up.udp_ports}"


def test_multiplex_udp_fails_over_at_once_when_the_upstream_port_is_closed(responders, forwarder):
    first, second = responders(2)
    port = forwarder([first, second], "multiplex_udp", "policy sequential")
    assert tags(ask_many(port, 3)) == {"a": 3}
    first.stop()
    # ICMP port unreachable fails the exchange at once instead of after the 2s exchange timeout: no query waits for
    # that timeout (each is answered in milliseconds; 1.5 s is the margin a loaded machine gets).
    for i in range(5):
        started = time.monotonic()
        assert support.txt_tag(ask(port, f"down{i}.example.org.")) == "b", "failover, no SERVFAIL"
        assert time.monotonic() - started < 1.5, f"query {i} waited for the exchange timeout"


def test_multiplex_udp_times_out_a_silent_upstream_and_moves_on(responders, forwarder):
    slow, good = responders(1, delay=3.0)[0], responders(1)[0]
    port = forwarder([slow, good], "multiplex_udp", "policy sequential")
    started = time.monotonic()
    assert support.txt_tag(ask(port)) == "b", "the next upstream answers, within the 5 s request deadline"
    assert time.monotonic() - started >= 1.9, "after the 2s exchange timeout, not before"


def relay_corefile(port: int, upstreams: list[str], *options: str, extra: str = "") -> str:
    body = "".join(f"        {o}\n" for o in ("multiplex_udp",) + options)
    return (f".:{port} {{\n    bind 127.0.0.1\n{extra}"
            f"    forward . {' '.join(upstreams)} {{\n{body}    }}\n}}\n")


RELAY_LOG = "UDP is served by the datagram relay"


def test_every_block_is_served_by_the_relay(responders, dnsgrpcd, tmp_path):
    """One data path: the defaults, multiplex_udp (accepted, a no-op) and plugins in front all take the relay."""
    (up,) = responders(1)
    cases = {"multiplex_udp": relay_corefile, "default": None, "with plugins": relay_corefile}
    for name, make in cases.items():
        port = support.free_port()
        if make is None:
            text = support.forward_corefile(port, [up.addr])
        else:
            text = make(port, [up.addr], extra="    log\n    errors\n    cache 30\n" if name == "with plugins" else "")
        conf = tmp_path / f"Corefile-{port}"
        conf.write_text(text)
        proc = dnsgrpcd("-conf", str(conf), wait_for=[f"127.0.0.1:{port}"])
        assert support.txt_tag(ask(port)) == "a", name
        proc.wait_for_log(RELAY_LOG)


def test_relay_counts_every_query_in_the_coredns_metrics(responders, dnsgrpcd, tmp_path):
    (up,) = responders(1)
    port, metrics_port = support.free_port(), support.free_port()
    metrics_addr = f"127.0.0.1:{metrics_port}"
    conf = tmp_path / "Corefile"
    conf.write_text(relay_corefile(port, [up.addr], extra=f"    prometheus {metrics_addr}\n"))
    proc = dnsgrpcd("-conf", str(conf), wait_for=[f"127.0.0.1:{port}"])
    proc.wait_for_log(RELAY_LOG)
    assert tags(ask_many(port, 20, workers=4, prefix="metric")) == {"a": 20}
    server = f"dns://127.0.0.1:{port}"
    m = support.wait_for_metric(metrics_addr, "coredns_dns_responses_total", 20, server=server, rcode="NOERROR")
    assert m.value("coredns_dns_requests_total", server=server, zone=".", proto="udp", family="1", type="TXT") == 20
    assert m.value("coredns_dns_responses_total", server=server, zone=".", rcode="NOERROR") == 20
    assert m.value("coredns_dns_request_duration_seconds_count", server=server, zone=".", type="TXT") == 20
    assert m.value("coredns_forward_requests_total", to=up.addr) == 20
    assert m.value("coredns_forward_responses_total", to=up.addr, rcode="NOERROR") == 20


def test_relay_answers_malformed_queries_and_names_it_does_not_forward(responders, dnsgrpcd, tmp_path):
    (up,) = responders(1)
    port = support.free_port()
    conf = tmp_path / "Corefile"
    conf.write_text(f".:{port} {{\n    bind 127.0.0.1\n    forward example.org {up.addr} {{\n"
                    f"        multiplex_udp\n    }}\n}}\n")
    proc = dnsgrpcd("-conf", str(conf), wait_for=[f"127.0.0.1:{port}"])
    proc.wait_for_log(RELAY_LOG)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(ASK_TIMEOUT)
        # A header that parses and a body that does not: FORMERR with the client's ID.
        s.sendto(bytes.fromhex("abcd0100000100000000000003") + b"\xff\xff", ("127.0.0.1", port))
        reply = s.recv(4096)
        assert reply[:2] == b"\xab\xcd" and reply[3] & 0x0F == dns.rcode.FORMERR and reply[2] & 0x80
        # A response (QR set) and a runt are dropped; the next real query is still answered.
        s.sendto(dns.message.make_response(dns.message.make_query("x.example.org.", "A")).to_wire(),
                 ("127.0.0.1", port))
        s.sendto(b"\x01\x02\x03", ("127.0.0.1", port))
        query = dns.message.make_query("fine.example.org.", "TXT")
        s.sendto(query.to_wire(), ("127.0.0.1", port))
        assert dns.message.from_wire(s.recv(4096)).id == query.id
    # Outside `FROM`: the engine's answer, REFUSED, not the upstream's.
    assert ask(port, "other.test.").rcode() == REFUSED
    assert up.queries == 1, "only the one forwarded query reached the upstream"


def test_relay_truncates_to_the_client_size_and_hands_tc_to_tcp_under_prefer_udp(responders, dnsgrpcd, tmp_path):
    (big,) = responders(1, mode="big_reply")
    (huge,) = responders(1, mode="huge_reply")
    ports = {}
    for name, upstream, options in (("big", big, ()), ("huge", huge, ()), ("huge, prefer_udp", huge, ("prefer_udp",))):
        ports[name] = support.free_port()
        conf = tmp_path / f"Corefile-{ports[name]}"
        conf.write_text(relay_corefile(ports[name], [upstream.addr], *options))
        proc = dnsgrpcd("-conf", str(conf), wait_for=[f"127.0.0.1:{ports[name]}"])
        proc.wait_for_log(RELAY_LOG)
    # The upstream's 3.5 KB answer does not fit the client's 1232 bytes: TC from us, for the client to go to TCP.
    small = dns.message.make_query("big.example.org.", "TXT", use_edns=0, payload=1232)
    reply = dns.query.udp(small, "127.0.0.1", port=ports["big"], timeout=ASK_TIMEOUT)
    assert reply.flags & dns.flags.TC and reply.id == small.id and big.tcp_accepted == 0
    # Over the 4096 bytes taken over UDP counts as truncated: passed on as TC to a UDP client ...
    large = dns.message.make_query("huge.example.org.", "TXT", use_edns=0, payload=65000)
    reply = dns.query.udp(large, "127.0.0.1", port=ports["huge"], timeout=ASK_TIMEOUT)
    assert reply.flags & dns.flags.TC and not reply.answer and huge.tcp_accepted == 0
    # ... and fetched over TCP by the engine under prefer_udp, the whole 6.5 KB then going back over UDP.
    reply = dns.query.udp(large, "127.0.0.1", port=ports["huge, prefer_udp"], timeout=ASK_TIMEOUT)
    assert not reply.flags & dns.flags.TC and sum(len(rrset) for rrset in reply.answer) == 61
    assert huge.tcp_accepted == 1


def test_relay_stops_promptly_and_a_new_instance_takes_the_port(responders, dnsgrpcd, tmp_path):
    (a, b) = responders(2)
    port = support.free_port()
    conf = tmp_path / "Corefile"
    conf.write_text(relay_corefile(port, [a.addr]))
    proc = dnsgrpcd("-conf", str(conf), wait_for=[f"127.0.0.1:{port}"])
    assert support.txt_tag(ask(port)) == "a"
    conf.write_text(relay_corefile(port, [b.addr]))
    proc.popen.send_signal(signal.SIGHUP)
    support.wait_until(lambda: support.txt_tag(ask(port, timeout=2)) == "b", timeout=support.READY_TIMEOUT,
                       what="queries answered by the reloaded relay")
    # The new relay reads the same sockets from its start; the old one reads until the reload is over (issue 22),
    # answering with its own configuration meanwhile. Once over, only the new one answers.
    proc.wait_for_log("configuration reloaded")
    assert tags(ask_many(port, 20, prefix="after")) == {"b": 20}, "the old relay still reads the sockets"
    started = time.monotonic()
    proc.popen.send_signal(signal.SIGTERM)
    proc.popen.wait(timeout=support.STOP_TIMEOUT)
    # Nothing is in flight: it stops at once, not after the 5 s grace period (8 s: the margin of a loaded machine).
    assert time.monotonic() - started < 8 and proc.popen.returncode == 0, proc.log()


GRPC_RELAY_LOG = "gRPC queries are forwarded by the datagram relay"


def grpc_relay(dnsgrpcd, tmp_path, upstreams, *options: str, extra: str = ""):
    """dnsgrpcd serving gRPC on a free port for a block that forwards `.` to `upstreams` with multiplex_udp."""
    port, metrics_port = support.free_port(), support.free_port()
    body = "".join(f"        {o}\n" for o in ("multiplex_udp",) + options)
    conf = tmp_path / f"Corefile-grpc-{port}"
    conf.write_text(f"grpc://.:{port} {{\n    bind 127.0.0.1\n    prometheus 127.0.0.1:{metrics_port}\n{extra}"
                    f"    forward . {' '.join(u.addr for u in upstreams)} {{\n{body}    }}\n}}\n")
    proc = dnsgrpcd("-conf", str(conf), wait_for=[f"127.0.0.1:{port}"])
    return proc, f"127.0.0.1:{port}", f"127.0.0.1:{metrics_port}"


def grpc_ask(addr: str, name: str, rdtype: str = "TXT", **kwargs) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, **kwargs)
    reply = dns.message.from_wire(support.grpc_query(addr, query.to_wire(), timeout=ASK_TIMEOUT))
    assert reply.id == query.id and reply.question == query.question
    return reply


def test_grpc_listener_on_multiplex_udp_forwards_through_the_relay(responders, dnsgrpcd, tmp_path):
    (up,) = responders(1)
    proc, addr, metrics_addr = grpc_relay(dnsgrpcd, tmp_path, [up])
    proc.wait_for_log(GRPC_RELAY_LOG)
    with support.DnsServiceClient(addr) as client:
        with ThreadPoolExecutor(max_workers=8) as pool:
            queries = [dns.message.make_query(f"g{i}.example.org.", "TXT") for i in range(40)]
            replies = list(pool.map(lambda q: dns.message.from_wire(client.query(q.to_wire())), queries))
    assert [r.id for r in replies] == [q.id for q in queries]
    assert {support.txt_tag(r) for r in replies} == {"a"} and up.queries == 40
    assert 1 <= len(up.udp_ports) <= 16 * len(os.sched_getaffinity(0)), "long-lived sockets per queue's relay"
    server = f"grpc://127.0.0.1:{addr.rsplit(':', 1)[1]}"
    m = support.wait_for_metric(metrics_addr, "coredns_dns_requests_total", 40, server=server, proto="tcp")
    assert m.value("coredns_dns_responses_total", server=server, rcode="NOERROR") == 40
    assert m.value("coredns_forward_requests_total", to=up.addr) == 40
    # A name outside FROM and a malformed request still get the engine's and the listener's answers.
    assert grpc_ask(addr, "x.", "TXT").rcode() == NOERROR  # `.` covers every name
    with pytest.raises(Exception) as refused:
        support.grpc_query(addr, b"\x01\x02")
    assert "INVALID_ARGUMENT" in str(refused.value)
    # A reload starts a new listener with its own relay and stops the old one; calls keep being answered.
    proc.popen.send_signal(signal.SIGHUP)
    support.wait_until(lambda: "configuration reloaded" in proc.log(), timeout=support.READY_TIMEOUT,
                       what="the reload")
    assert support.txt_tag(grpc_ask(addr, "reloaded.example.org.")) == "a"
    proc.wait_for_log(GRPC_RELAY_LOG, count=2)


def test_grpc_relay_fetches_truncated_answers_over_tcp_and_fails_over(responders, dnsgrpcd, tmp_path):
    (huge,) = responders(1, mode="huge_reply")
    _, addr, _ = grpc_relay(dnsgrpcd, tmp_path, [huge])
    # Over 4096 bytes counts as truncated; a gRPC client has no size limit, so the engine fetches it over TCP.
    reply = grpc_ask(addr, "huge.example.org.", use_edns=0, payload=65000)
    assert not reply.flags & dns.flags.TC and sum(len(rrset) for rrset in reply.answer) == 61
    assert huge.tcp_accepted == 1
    slow, good = responders(1, delay=3.0)[0], responders(1)[0]
    _, addr, _ = grpc_relay(dnsgrpcd, tmp_path, [slow, good], "policy sequential")
    started = time.monotonic()
    assert support.txt_tag(grpc_ask(addr, "late.example.org.")) == good.tag, "within the 5 s request deadline"
    assert time.monotonic() - started >= 1.9, "after the 2s exchange timeout, not before"


def test_multiplex_udp_large_replies(responders, forwarder):
    (big,) = responders(1, mode="big_reply")
    query = dns.message.make_query("big.example.org.", "TXT", use_edns=0, payload=4096)
    reply = dns.query.udp(query, "127.0.0.1", port=forwarder([big], "multiplex_udp"), timeout=ASK_TIMEOUT)
    assert reply.rcode() == NOERROR and not reply.flags & dns.flags.TC
    assert sum(len(rrset) for rrset in reply.answer) == 31
    (huge,) = responders(1, mode="huge_reply")
    query = dns.message.make_query("huge.example.org.", "TXT", use_edns=0, payload=65000)
    whole = dns.query.tcp(query, "127.0.0.1", port=forwarder([huge], "multiplex_udp", "prefer_udp"),
                          timeout=ASK_TIMEOUT)
    assert whole.rcode() == NOERROR and sum(len(rrset) for rrset in whole.answer) == 61
    assert huge.tcp_accepted == 1, "over 4096 bytes counts as truncated and is fetched over TCP"
