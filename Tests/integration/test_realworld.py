"""Real-world Corefiles (issue 18): Kubernetes NodeLocal DNSCache's and kubeadm's, run as they are but for addresses
and ports; the cache's block options (serve_stale, prefetch), identical misses sharing one upstream query, loop and
loadbalance, the reply's OPT mirroring the client's, and the metrics under CoreDNS's names after known traffic."""

from __future__ import annotations

import threading

import dns.edns
import dns.flags
import dns.rdatatype
import dns.message
import dns.query
import dns.rcode
import pytest

import support

ASK = 15.0  # bounds a hang only


def ask(addr: str, name: str, rdtype: str = "A", **kwargs) -> dns.message.Message:
    host, port = support.split_hostport(addr)
    return dns.query.udp(dns.message.make_query(name, rdtype, **kwargs), host, port=port, timeout=ASK)


def same(got: support.DigResult, expected: support.DigResult) -> None:
    assert (got.rcode, got.answer, got.authority) == (expected.rcode, expected.answer, expected.authority), \
        f"{got.text}\n--- expected ---\n{expected.text}"


def start(dnsgrpcd, tmp_path, text: str, wait_for: list[str], name: str = "dnsgrpcd", **kwargs):
    corefile = support.write_corefile(tmp_path / name, text)
    return dnsgrpcd("-conf", corefile, "--log-level", "debug", wait_for=wait_for, name=name, **kwargs)


def probes_over(proc, count: int) -> None:
    """Waits until `count` loop probes have been answered (loop detection is over without finding one)."""
    support.wait_until(lambda: proc.log().count('answered=true') >= count and "loop detection over" in proc.log(),
                       timeout=60, what=f"{count} loop probes answered")


# --- the two real-world Corefiles ------------------------------------------------------------------------------------

def test_nodelocaldns_corefile_runs_and_answers_as_knot(dnsgrpcd, knot):
    port, metrics, health = support.free_port(), support.free_port(), support.free_port()
    local, service = "127.0.0.21", "127.0.0.22"
    env = {"DNS_DOMAIN": "example.org", "LOCAL_DNS": local, "DNS_SERVER": service, "CLUSTER_DNS": knot.addr,
           "UPSTREAM": knot.addr, "DNS_PORT": str(port), "METRICS_PORT": str(metrics), "HEALTH_PORT": str(health)}
    proc = dnsgrpcd("-conf", support.example_corefile("nodelocaldns/Corefile"), "--log-level", "debug", env=env,
                    wait_for=[f"{local}:{port}", f"{service}:{port}", f"{local}:{health}", f"127.0.0.1:{metrics}"])
    for server in (f"{local}:{port}", f"{service}:{port}"):
        for name, rdtype in [("www.example.org", "A"), ("example.org", "MX"), ("nope.example.org", "A")]:
            same(support.dig(server, name, rdtype), support.dig(knot.addr, name, rdtype))
            # The cluster zone goes to its upstream over TCP (force_tcp), as NodeLocal DNSCache wants.
        same(support.dig(server, "www.example.org", "A", "+tcp"), support.dig(knot.addr, "www.example.org", "A"))
        # A reverse name goes through the in-addr.arpa block to the same upstream.
        assert support.dig(server, "10.2.0.192.in-addr.arpa", "PTR").rcode \
            == support.dig(knot.addr, "10.2.0.192.in-addr.arpa", "PTR").rcode
    assert support.wait_for_http(f"{local}:{health}", "/health", 200, proc=proc) == "OK"
    # Four blocks, four loop probes, every one answered: no loop, and the process keeps serving.
    probes_over(proc, 4)
    assert proc.alive()
    m = support.scrape(f"127.0.0.1:{metrics}")
    cluster = {"server": f"dns://{local}:{port}", "zones": "example.org."}
    assert m.value("coredns_cache_requests_total", **cluster) >= 6
    assert m.value("coredns_cache_hits_total", type="success", **cluster) >= 1  # the second server asked again
    assert m.labelsets("coredns_cache_entries")
    to = knot.addr
    assert m.value("coredns_forward_conn_cache_misses_total", to=to, proto="tcp") >= 1
    assert m.value("coredns_forward_conn_cache_hits_total", to=to, proto="tcp") >= 1


def test_kubeadm_corefile_runs_answers_is_ready_and_shuffles(dnsgrpcd, knot):
    ports = {k: support.free_port() for k in ("DNS_PORT", "HEALTH_PORT", "READY_PORT", "METRICS_PORT")}
    env = {**{k: str(v) for k, v in ports.items()}, "UPSTREAM": knot.addr}
    dns_addr = f"127.0.0.1:{ports['DNS_PORT']}"
    proc = dnsgrpcd("-conf", support.example_corefile("kubeadm/Corefile"), "--log-level", "debug", env=env,
                    wait_for=[dns_addr, f"127.0.0.1:{ports['READY_PORT']}"])
    assert support.wait_for_http(f"127.0.0.1:{ports['READY_PORT']}", "/ready", 200, proc=proc) == "OK"
    for name, rdtype in [("www.example.org", "A"), ("example.org", "MX"), ("ftp.example.org", "A"),
                         ("nope.example.org", "A")]:
        same(support.dig(dns_addr, name, rdtype), support.dig(knot.addr, name, rdtype))
    # loadbalance: the same records in more than one order, cache hits included; a CNAME stays first.
    for name, rdtype in [("www.example.org", "A"), ("example.org", "MX"), ("ftp.example.org", "A")]:
        orders = set()
        for _ in range(40):
            reply = ask(dns_addr, name, rdtype)
            records = [(rrset.rdtype, rd.to_text()) for rrset in reply.answer for rd in rrset]
            orders.add(tuple(records))
        assert len({frozenset(o) for o in orders}) == 1, orders
        assert len(orders) > 1, f"{name} {rdtype} always came in one order: {orders}"
        if name.startswith("ftp"):
            assert all(order[0][0] == dns.rdatatype.CNAME for order in orders)
    probes_over(proc, 1)
    assert proc.alive()


def test_corefiles_with_what_dnsgrpcd_lacks_stop_with_file_and_line(tmp_path):
    corefile = tmp_path / "Corefile"
    corefile.write_text(".:53 {\n    errors\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n"
                        "       pods insecure\n    }\n    forward . /etc/resolv.conf\n}\n")
    done = support.run_dnsgrpcd("-conf", str(corefile))
    assert done.returncode == 1 and f"{corefile}:3: unknown directive 'kubernetes'" in done.stderr, done


# --- the cache's options ---------------------------------------------------------------------------------------------

def cache_corefile(port: int, metrics: int, upstream: str, options: str) -> str:
    # max_fails 0: the upstream is never marked down, so every miss is really sent.
    return f"""
        .:{port} {{
            bind 127.0.0.1
            cache {{
                {options}
            }}
            forward . {upstream} {{
                max_fails 0
            }}
            prometheus 127.0.0.1:{metrics}
        }}
        """


@pytest.mark.parametrize("mode", ["immediate", "verify"])
def test_serve_stale_answers_from_an_expired_entry_while_the_upstream_is_down(dnsgrpcd, tmp_path, mode):
    up = support.TaggedResponder("a").start()
    try:
        port, metrics = support.free_port(), support.free_port()
        addr = f"127.0.0.1:{port}"
        start(dnsgrpcd, tmp_path, cache_corefile(port, metrics, up.addr, f"success 1024 2 1\nserve_stale 1h {mode}"),
              wait_for=[addr])
        assert support.txt_tag(ask(addr, "stale.example", "TXT")) == "a"
        up.stop()
        # Past its 2 s the entry is stale: it answers, with TTL 0, while the upstream is down.
        stale = support.wait_until(lambda: (r := ask(addr, "stale.example", "TXT")).answer
                                   and r.answer[0].ttl == 0 and r, timeout=30, what="a stale answer")
        assert support.txt_tag(stale) == "a" and stale.rcode() == dns.rcode.NOERROR
        m = support.scrape(f"127.0.0.1:{metrics}")
        assert m.value("coredns_cache_served_stale_total") >= 1
        # The upstream comes back with a new answer: the entry is refreshed.
        up.tag = "b"
        up.start()
        support.wait_until(lambda: support.txt_tag(ask(addr, "stale.example", "TXT")) == "b", timeout=30,
                           what="the refreshed answer")
    finally:
        up.stop()


def test_prefetch_refreshes_a_popular_entry_before_it_expires_once(dnsgrpcd, tmp_path):
    with support.TaggedResponder("a") as up:
        port, metrics = support.free_port(), support.free_port()
        addr = f"127.0.0.1:{port}"
        start(dnsgrpcd, tmp_path, cache_corefile(port, metrics, up.addr, "success 1024 6 1\nprefetch 1 1m 50%"),
              wait_for=[addr])
        assert support.txt_tag(ask(addr, "hot.example", "TXT")) == "a"
        assert up.names.count("hot.example.") == 1
        # Asked again and again: once the TTL is down to half, one query triggers a refresh; the clients get the
        # entry meanwhile (its TTL counts down), never the upstream's wait.
        def refreshed():
            reply = ask(addr, "hot.example", "TXT")
            assert reply.answer and reply.answer[0].ttl > 0, reply
            return up.names.count("hot.example.") >= 2
        support.wait_until(refreshed, timeout=30, interval=0.2, what="the prefetch reached the upstream")
        m = support.scrape(f"127.0.0.1:{metrics}")
        assert m.value("coredns_cache_prefetch_total") == 1
        assert m.value("coredns_cache_misses_total") == 1, "only the first query waited for the upstream"
        assert up.names.count("hot.example.") == 2, "one prefetch, not one per query"


def test_fifty_identical_concurrent_misses_make_one_upstream_query(dnsgrpcd, tmp_path):
    # The upstream takes a second, so all fifty arrive while the first is out.
    with support.TaggedResponder("a", delay=1.0) as up:
        port, metrics = support.free_port(), support.free_port()
        addr = f"127.0.0.1:{port}"
        start(dnsgrpcd, tmp_path, cache_corefile(port, metrics, up.addr, "success 1024"), wait_for=[addr])
        replies: dict[int, dns.message.Message] = {}
        barrier = threading.Barrier(50)

        def client(index: int) -> None:
            query = dns.message.make_query("same.example", "TXT")
            query.id = 1000 + index
            barrier.wait(timeout=ASK)
            host, p = support.split_hostport(addr)
            replies[index] = dns.query.udp(query, host, port=p, timeout=ASK)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=ASK * 2)
        assert len(replies) == 50
        assert all(r.id == 1000 + i and support.txt_tag(r) == "a" for i, r in replies.items())
        assert up.names.count("same.example.") == 1, up.names
        m = support.scrape(f"127.0.0.1:{metrics}")
        assert m.value("coredns_cache_requests_total") == 50
        assert m.value("coredns_cache_misses_total") == 50  # none was in the cache; one went out
        assert m.value("coredns_dns_requests_total") == 50
        assert m.value("coredns_forward_requests_total") == 1
        assert m.value("coredns_cache_entries", type="success") == 1


# --- loop ----------------------------------------------------------------------------------------------------------

def test_loop_detection_stops_two_instances_that_forward_to_each_other(tmp_path):
    a, b = support.free_port(), support.free_port()
    procs = []
    try:
        for name, port, other in (("a", a, b), ("b", b, a)):
            corefile = support.write_corefile(tmp_path / name, f"""
                .:{port} {{
                    bind 127.0.0.1
                    loop
                    forward . 127.0.0.1:{other}
                }}
                """)
            procs.append(support.start_dnsgrpcd("-conf", corefile, log_dir=tmp_path, name=name, wait_for=[]))
        stopped = support.wait_until(lambda: [p for p in procs if not p.alive()], timeout=60,
                                     what="an instance stopped on the loop")
        proc = stopped[0]
        assert proc.popen.wait(timeout=10) == 1
        log = proc.log()
        assert 'detected for zone "."' in log and "see https://coredns.io/plugins/loop#troubleshooting" in log
        assert 'Query: "HINFO ' in log
    finally:
        for p in procs:
            p.kill()


# --- EDNS -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("payload,do", [(512, False), (4096, True), (1232, False)])
def test_the_reply_opt_mirrors_the_client(dnsgrpcd, knot, tmp_path, payload, do):
    port = support.free_port()
    addr = f"127.0.0.1:{port}"
    start(dnsgrpcd, tmp_path, f".:{port} {{\n    bind 127.0.0.1\n    forward . {knot.addr}\n}}\n", wait_for=[addr])
    for _ in range(2):  # the second time from the cache of nothing: forwarded again, same rule
        reply = ask(addr, "www.example.org", "A", use_edns=0, payload=payload,
                    want_dnssec=do)
        assert reply.edns == 0 and reply.payload == payload, reply
        assert bool(reply.ednsflags & dns.flags.DO) == do
    # Without EDNS the reply has no OPT added.
    assert ask(addr, "www.example.org", "A").edns == -1
