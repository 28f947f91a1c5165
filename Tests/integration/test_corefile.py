"""Corefile configuration end to end (issue 6): every file in examples/ starts and answers real dig and grpcio
queries; reload (SIGHUP and the reload directive) moves queries to a new upstream and keeps the old
configuration serving when the new Corefile is broken; malformed Corefiles stop start-up with file:line;
-dns.port; the default configuration without a Corefile; hosts with fallthrough to knotd.

Ports come from the environment ({$NAME} placeholders in the examples), always on 127.0.0.1.
"""

from __future__ import annotations

import re
import shutil
import signal
import time
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

import support

CERTS = support.REPO / "certs"
PYTHON_A = "192.0.2.1"


def udp(port: int, name: str, rdtype: str = "A", timeout: float = support.CALL_TIMEOUT) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query(name, rdtype), "127.0.0.1", port=port, timeout=timeout)


def warm_up(port: int, name: str = "warm.example.net") -> None:
    """Waits until the block on `port` answers `name` A: its upstream connection (gRPC, TLS) is up, which on a
    loaded machine can take longer than the first query's deadline."""
    support.wait_for_dns("127.0.0.1", port, name, "A")


def tags(reply: dns.message.Message) -> set[str]:
    """The tag=NAME TXT strings dns_grpc_server.py puts in every answer."""
    return {b"".join(rr.strings).decode() for rrset in reply.answer if rrset.rdtype == dns.rdatatype.TXT
            for rr in rrset}


def addresses(reply: dns.message.Message) -> set[str]:
    return {rr.address for rrset in reply.answer if rrset.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)
            for rr in rrset}


def start_conf(dnsgrpcd, corefile: Path, port: int, env: dict[str, str] | None = None, **kwargs):
    """dnsgrpcd -conf corefile, ready once 127.0.0.1:port accepts TCP."""
    return dnsgrpcd("-conf", str(corefile), "--log-level", "debug", wait_for=[f"127.0.0.1:{port}"],
                    env=env or {}, **kwargs)


# --- examples/ -----------------------------------------------------------------------------------------------------

def test_gateway_example(dnsgrpcd, knot):
    port = support.free_port()
    proc = start_conf(dnsgrpcd, support.example_corefile("gateway/Corefile"), port,
                      env={"GRPC_PORT": str(port), "UPSTREAM": knot.addr})
    # multiplex_udp and nothing in front of forward: grpcio -> the datagram relay -> knotd.
    proc.wait_for_log("gRPC queries are forwarded by the datagram relay")
    with support.DnsServiceClient(f"127.0.0.1:{port}") as client:
        for name, rdtype in [("www.example.org", "A"), ("example.org", "MX"), ("nope.example.org", "A")]:
            reply = dns.message.from_wire(client.query(dns.message.make_query(name, rdtype).to_wire()))
            direct = support.dig(knot.addr, name, rdtype)
            assert dns.rcode.to_text(reply.rcode()) == direct.rcode, (name, rdtype)
            assert support.rr_set(reply.answer) == direct.answer, (name, rdtype)


def test_dns_to_grpc_example_answers_and_caches(dnsgrpcd, dns_grpc_server):
    upstream = dns_grpc_server(tag="py")
    port = support.free_port()
    start_conf(dnsgrpcd, support.example_corefile("dns-to-grpc/Corefile"), port,
               env={"DNS_PORT": str(port), "GRPC_UPSTREAM": upstream.addr})
    warm_up(port)
    for options in [(), ("+tcp",)]:
        result = support.dig(f"127.0.0.1:{port}", "cached.example.net", "A", *options)
        assert result.rcode == "NOERROR"
        assert result.answer == {("cached.example.net.", "IN", "A", PYTHON_A),
                                 ("cached.example.net.", "IN", "TXT", '"tag=py"')}
    # `cache 30`: with the upstream gone the answer still comes, from memory, with a TTL of at most 30.
    upstream.stop()
    reply = udp(port, "cached.example.net")
    assert tags(reply) == {"tag=py"}
    assert all(0 < rrset.ttl <= 30 for rrset in reply.answer)
    assert udp(port, "uncached.example.net").rcode() == dns.rcode.SERVFAIL


def test_mtls_mesh_example(dnsgrpcd, knot):
    core_port, edge_port = support.free_port(), support.free_port()
    env = {"CERTS": str(CERTS), "CORE_PORT": str(core_port), "EDGE_PORT": str(edge_port), "UPSTREAM": knot.addr}
    start_conf(dnsgrpcd, support.example_corefile("mtls-mesh/core.Corefile"), core_port, env=env, name="core")
    start_conf(dnsgrpcd, support.example_corefile("mtls-mesh/edge.Corefile"), edge_port, env=env, name="edge")
    warm_up(edge_port, "www.example.org")
    for name, rdtype in [("www.example.org", "A"), ("nope.example.org", "A")]:
        through = support.dig(f"127.0.0.1:{edge_port}", name, rdtype)
        direct = support.dig(knot.addr, name, rdtype)
        assert (through.rcode, through.answer) == (direct.rcode, direct.answer), (name, rdtype)
    # The core refuses a gRPC client without a certificate of the mesh CA.
    with support.DnsServiceClient(f"127.0.0.1:{core_port}") as plaintext:
        import grpc
        with pytest.raises(grpc.RpcError):
            plaintext.query(dns.message.make_query("www.example.org", "A").to_wire(), timeout=3)


def backend_corefile(tmp_path: Path, port: int, address: str) -> Path:
    """A dnsgrpcd that answers lb.example.org with `address` (hosts inline entry), as a load-balancing backend."""
    path = tmp_path / f"backend-{port}.Corefile"
    path.write_text(f".:{port} {{\n    bind 127.0.0.1\n    hosts {{\n        {address} lb.example.org\n"
                    f"        fallthrough\n    }}\n    whoami\n}}\n")
    return path


def test_load_balancing_example_spreads_and_skips_a_dead_upstream(dnsgrpcd, tmp_path):
    backends = {}
    for letter, address in [("A", "192.0.2.101"), ("B", "192.0.2.102"), ("C", "192.0.2.103")]:
        port = support.free_port()
        proc = start_conf(dnsgrpcd, backend_corefile(tmp_path, port, address), port, name=f"backend-{letter}")
        backends[letter] = (port, address, proc)
    port = support.free_port()
    env = {"DNS_PORT": str(port), **{f"UPSTREAM_{k}": f"127.0.0.1:{v[0]}" for k, v in backends.items()}}
    start_conf(dnsgrpcd, support.example_corefile("load-balancing/Corefile"), port, env=env, name="balancer")

    seen = set()
    for _ in range(9):
        reply = udp(port, "lb.example.org")
        assert reply.rcode() == dns.rcode.NOERROR
        seen |= addresses(reply)
    assert seen == {"192.0.2.101", "192.0.2.102", "192.0.2.103"}  # round_robin reaches every upstream

    backends["B"][2].stop()
    # Queries keep being answered, by A and C only: a query sent to B fails at once (its port is closed) and goes
    # on to the next upstream, and the health checks mark B down (max_fails 2 at 500ms). No wait for the latter:
    # either way the answers are the same.
    seen = set()
    for _ in range(12):
        reply = udp(port, "lb.example.org")
        assert reply.rcode() == dns.rcode.NOERROR
        seen |= addresses(reply)
    assert seen == {"192.0.2.101", "192.0.2.103"}


def test_hosts_override_example_with_fallthrough_to_knotd(dnsgrpcd, knot, tmp_path):
    hosts = tmp_path / "hosts"
    shutil.copy(support.example_corefile("hosts-override/hosts"), hosts)
    port = support.free_port()
    start_conf(dnsgrpcd, support.example_corefile("hosts-override/Corefile"), port,
               env={"DNS_PORT": str(port), "HOSTS_FILE": str(hosts), "UPSTREAM": knot.addr})
    server = f"127.0.0.1:{port}"
    assert support.dig(server, "www.example.org", "A").answer == {("www.example.org.", "IN", "A", "203.0.113.10")}
    assert support.dig(server, "www.example.org", "AAAA").answer == {
        ("www.example.org.", "IN", "AAAA", "2001:db8::a")}
    assert support.dig(server, "inline.example.org", "A").answer == {
        ("inline.example.org.", "IN", "A", "198.51.100.7")}
    assert support.dig(server, "-x", "203.0.113.10").answer == {
        ("10.113.0.203.in-addr.arpa.", "IN", "PTR", "www.example.org.")}
    # A name the hosts file has but not for MX: NODATA from hosts, not knotd's MX.
    mx = support.dig(server, "www.example.org", "MX")
    assert (mx.rcode, mx.answer) == ("NOERROR", frozenset())
    # Everything else falls through to knotd.
    for name, rdtype in [("mail.example.org", "A"), ("example.org", "MX"), ("nope.example.org", "A")]:
        through = support.dig(server, name, rdtype)
        direct = support.dig(knot.addr, name, rdtype)
        assert (through.rcode, through.answer, through.authority) == (direct.rcode, direct.answer, direct.authority)
    # The file is re-read (reload 2s) when it changes.
    hosts.write_text(hosts.read_text() + "203.0.113.99 mail.example.org\n")
    support.wait_until(lambda: support.dig(server, "mail.example.org", "A").answer
                       == {("mail.example.org.", "IN", "A", "203.0.113.99")},
                       timeout=support.READY_TIMEOUT, interval=0.3, what="hosts file change picked up")


def test_every_example_is_covered():
    """A new example needs a test here: fail when examples/ has a Corefile no test above starts."""
    covered = {"gateway/Corefile", "dns-to-grpc/Corefile", "mtls-mesh/core.Corefile", "mtls-mesh/edge.Corefile",
               "load-balancing/Corefile", "hosts-override/Corefile",
               # test_realworld.py:
               "nodelocaldns/Corefile", "kubeadm/Corefile",
               # test_doh.py:
               "doh/Corefile"}
    examples = support.REPO / "examples"
    found = {str(p.relative_to(examples)) for p in examples.rglob("*Corefile")}
    assert found == covered


# --- reload --------------------------------------------------------------------------------------------------------

def grpc_forwarding_corefile(port: int, upstream: str, extra: str = "") -> str:
    return f".:{port} {{\n    bind 127.0.0.1\n    grpc . {upstream}\n{extra}}}\n"


def test_sighup_reload_moves_queries_to_the_new_upstream(dnsgrpcd, dns_grpc_server, tmp_path):
    old, new = dns_grpc_server(tag="old"), dns_grpc_server(tag="new")
    port = support.free_port()
    corefile = tmp_path / "Corefile"
    corefile.write_text(grpc_forwarding_corefile(port, old.addr))
    proc = start_conf(dnsgrpcd, corefile, port)
    warm_up(port)
    assert tags(udp(port, "r.example.net")) == {"tag=old"}

    corefile.write_text(grpc_forwarding_corefile(port, new.addr))
    proc.popen.send_signal(signal.SIGHUP)
    support.wait_until(lambda: tags(udp(port, "r.example.net", timeout=2)) == {"tag=new"},
                       timeout=support.READY_TIMEOUT, what="queries answered by the new upstream")
    # The DNS listener on the same port was handed over: TCP answers too, and the process is the same.
    assert support.dig(f"127.0.0.1:{port}", "t.example.net", "TXT", "+tcp").answer >= {
        ("t.example.net.", "IN", "TXT", '"tag=new"')}
    assert proc.alive()
    proc.wait_for_log("configuration reloaded")


def test_reload_directive_picks_up_a_changed_corefile(dnsgrpcd, dns_grpc_server, tmp_path):
    old, new = dns_grpc_server(tag="old"), dns_grpc_server(tag="new")
    port = support.free_port()
    corefile = tmp_path / "Corefile"
    corefile.write_text(grpc_forwarding_corefile(port, old.addr, "    reload 2s 1s\n"))
    start_conf(dnsgrpcd, corefile, port)
    warm_up(port)
    assert tags(udp(port, "i.example.net")) == {"tag=old"}
    corefile.write_text(grpc_forwarding_corefile(port, new.addr, "    reload 2s 1s\n"))
    # Checked every 2s +- 0.5s: the change is live within a few seconds, with no signal.
    support.wait_until(lambda: tags(udp(port, "i.example.net", timeout=2)) == {"tag=new"},
                       timeout=support.READY_TIMEOUT, what="reload directive picked up the new upstream")


def test_broken_corefile_on_reload_keeps_the_old_one_serving(dnsgrpcd, dns_grpc_server, tmp_path):
    old, new = dns_grpc_server(tag="old"), dns_grpc_server(tag="new")
    port = support.free_port()
    corefile = tmp_path / "Corefile"
    corefile.write_text(grpc_forwarding_corefile(port, old.addr, "    reload 2s 1s\n"))
    proc = start_conf(dnsgrpcd, corefile, port)
    warm_up(port)

    corefile.write_text(grpc_forwarding_corefile(port, new.addr, "    reload 2s 1s\n    no_such_plugin\n"))
    proc.popen.send_signal(signal.SIGHUP)
    support.wait_until(lambda: re.search(rf"{re.escape(str(corefile))}:5: unknown directive 'no_such_plugin'",
                                         proc.log()),
                       timeout=support.READY_TIMEOUT, what="reload error with file:line in the log")
    # An interval check too (every 2 s): the same broken content is not tried again, nothing changes. What must
    # not happen cannot be waited for; a slow machine only makes this check see less.
    time.sleep(3)
    assert tags(udp(port, "b.example.net")) == {"tag=old"}
    assert proc.alive()

    corefile.write_text(grpc_forwarding_corefile(port, new.addr, "    reload 2s 1s\n"))
    support.wait_until(lambda: tags(udp(port, "b.example.net", timeout=2)) == {"tag=new"},
                       timeout=support.READY_TIMEOUT, what="the fixed Corefile is picked up")


# --- start-up ------------------------------------------------------------------------------------------------------

MALFORMED = {
    "unknown directive": (".:{port} {{\n    bind 127.0.0.1\n    rewrite name a b\n}}\n", 3, "unknown directive"),
    "16 upstreams": (".:{port} {{\n    forward . " + " ".join(f"127.0.0.{i}" for i in range(1, 17)) + "\n}}\n", 2,
                     "15"),
    "bad duration": (".:{port} {{\n    forward . 127.0.0.1 {{\n        expire 10x\n    }}\n}}\n", 3, "expire"),
    "missing cert file": ("tls://.:{port} {{\n    tls /nonexistent/cert.pem /nonexistent/key.pem\n"
                          "    forward . 127.0.0.1\n}}\n", 2, "cert"),
    "unbalanced braces": (".:{port} {{\n    forward . 127.0.0.1\n", 1, ""),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_corefile_stops_start_up_with_file_and_line(case, tmp_path):
    text, line, words = MALFORMED[case]
    corefile = tmp_path / "Corefile"
    corefile.write_text(text.format(port=support.free_port()))
    done = support.run_dnsgrpcd("-conf", str(corefile))
    assert done.returncode != 0, done
    assert f"{corefile}:{line}:" in done.stderr, done.stderr
    assert words.lower() in done.stderr.lower(), done.stderr


def whoami_reply(port: int) -> dns.message.Message:
    return dns.query.udp(dns.message.make_query("who.example.org", "A"), "127.0.0.1", port=port,
                         timeout=support.CALL_TIMEOUT)


def assert_whoami(reply: dns.message.Message) -> None:
    assert reply.rcode() == dns.rcode.NOERROR
    assert not reply.answer
    extra = {(rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype)): rrset for rrset in reply.additional}
    assert [rr.address for rr in extra[("who.example.org.", "A")]] == ["127.0.0.1"]
    srv = list(extra[("_udp.who.example.org.", "SRV")])
    assert len(srv) == 1 and srv[0].port > 0


def test_dns_port_flag_sets_the_port_of_keys_without_one(dnsgrpcd, tmp_path):
    port = support.free_port()
    corefile = tmp_path / "Corefile"
    corefile.write_text("example.org {\n    bind 127.0.0.1\n    whoami\n}\n")
    dnsgrpcd("-conf", str(corefile), "-dns.port", str(port), wait_for=[f"127.0.0.1:{port}"])
    assert_whoami(whoami_reply(port))
    # The block serves example.org only.
    assert udp(port, "example.net").rcode() == dns.rcode.REFUSED


def test_whoami_over_grpc_answers_with_the_peer_address(dnsgrpcd, tmp_path):
    port = support.free_port()
    corefile = tmp_path / "Corefile"
    corefile.write_text(f"grpc://.:{port} {{\n    bind 127.0.0.1\n    whoami\n}}\n")
    start_conf(dnsgrpcd, corefile, port)
    with support.DnsServiceClient(f"127.0.0.1:{port}") as client:
        reply = dns.message.from_wire(client.query(dns.message.make_query("Grpc.Example.org", "A").to_wire()))
    assert reply.rcode() == dns.rcode.NOERROR
    extra = {(rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype)): rrset for rrset in reply.additional}
    assert [rr.address for rr in extra[("grpc.example.org.", "A")]] == ["127.0.0.1"]
    assert list(extra[("_tcp.grpc.example.org.", "SRV")])[0].port > 0


def test_no_corefile_serves_whoami_on_the_default_port(dnsgrpcd, tmp_path):
    port = support.free_port()
    proc = dnsgrpcd("-dns.port", str(port), wait_for=[f"127.0.0.1:{port}"], cwd=tmp_path)
    assert_whoami(whoami_reply(port))
    proc.wait_for_log("no Corefile")


def test_corefile_in_the_working_directory_is_the_default(dnsgrpcd, dns_grpc_server, tmp_path):
    upstream = dns_grpc_server(tag="cwd")
    port = support.free_port()
    (tmp_path / "Corefile").write_text(grpc_forwarding_corefile(port, upstream.addr))
    dnsgrpcd(wait_for=[f"127.0.0.1:{port}"], cwd=tmp_path)
    warm_up(port)
    assert tags(udp(port, "c.example.net")) == {"tag=cwd"}


@pytest.mark.parametrize("flag", ["-version", "--version"])
def test_version_flag_prints_the_release_and_exits(flag):
    """CoreDNS's -version: the release on the first line, the platform and gRPC core on the second; nothing starts."""
    done = support.run_dnsgrpcd(flag)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"dnsgrpcd-\d+\.\d+\.\d+", lines[0]), done.stdout
    assert re.fullmatch(r"linux/\w+, grpc-core \S+", lines[1]), done.stdout


def test_plugins_flag_lists_every_directive_the_readme_documents():
    """CoreDNS's -plugins: the server types and every directive; each directive of the README's Corefile table is
    there, and nothing that table does not document."""
    done = support.run_dnsgrpcd("-plugins")
    assert done.returncode == 0, done.stderr
    listed = set(re.findall(r"^  dns\.(\w+)$", done.stdout, re.M))
    assert {"dns", "tls", "grpc"} <= set(re.findall(r"^  (\w+)$", done.stdout, re.M)), done.stdout
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    corefile_table = readme.split("| Directive |", 1)[1].split("\n\n", 1)[0]
    documented = set(re.findall(r"^\| `(\w+)", corefile_table, re.M))
    assert listed == documented, f"only in -plugins: {listed - documented}; only in the README: {documented - listed}"
