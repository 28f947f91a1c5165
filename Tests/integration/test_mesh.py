"""Beyond CoreDNS for the gRPC mesh (issue 20): gRPC over unix-domain sockets, named gRPC targets resolved by gRPC
core, the client's address passed on (ECS, gRPC metadata through a chain of bridges) and the latency-aware policy.
Peers: dnsgrpcd itself on the other end of gRPC (its own listeners), a dnspython upstream that reports the ECS
option it was sent, TaggedResponders, dig and grpcio. Every wait is for a condition, bounded.
"""
from __future__ import annotations

import os
import signal
import socket
import stat
import threading

import dns.edns
import dns.message
import dns.query
import dns.rcode
import dns.rrset
import pytest

import support


def whoami_address(reply: dns.message.Message) -> str | None:
    """The client address whoami reports (its A or AAAA record in the additional section)."""
    for rrset in reply.additional:
        for rd in rrset:
            if rd.rdtype in (1, 28):
                return rd.address
    return None


def ask_udp(port: int, name: str, rdtype: str = "A", source: str = "127.0.0.1", **make) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, **make)
    reply = dns.query.udp(query, "127.0.0.1", port=port, source=source, timeout=support.CALL_TIMEOUT)
    assert reply.id == query.id
    return reply


class EcsEcho:
    """A UDP DNS server on 127.0.0.1 that answers every TXT query with TXT "ecs=ADDRESS/PREFIX" for the EDNS Client
    Subnet option the query carried ("ecs=none" without one, "ecs=many" with more than one)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def serve(self) -> None:
        while not self.stopping.is_set():
            try:
                wire, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            try:
                query = dns.message.from_wire(wire)
            except Exception:
                continue
            subnets = [o for o in query.options if o.otype == dns.edns.ECS]
            text = "ecs=none" if not subnets else "ecs=many" if len(subnets) > 1 else \
                f"ecs={subnets[0].address}/{subnets[0].srclen}"
            reply = dns.message.make_response(query)
            if query.question[0].rdtype == 16:
                reply.answer.append(dns.rrset.from_text(query.question[0].name, 0, "IN", "TXT", f'"{text}"'))
            self.sock.sendto(reply.to_wire(), peer)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def ecs_echo():
    server = EcsEcho()
    yield server
    server.stop()


def txt(reply: dns.message.Message) -> str:
    return b"".join(reply.answer[0][0].strings).decode()


# --- unix sockets and the client's address through a chain -----------------------------------------------------------

def test_chain_over_unix_sockets_keeps_the_first_clients_address(dnsgrpcd, tmp_path):
    sock = tmp_path / "b.sock"
    # B: a gRPC listener on a unix socket that trusts its unix peers to name their client, answering with whoami.
    b_conf = support.write_corefile(tmp_path, f"grpc://unix:{sock} {{\n    unix_socket 0660\n"
                                              f"    trusted_proxies unix\n    whoami\n}}\n", name="B")
    b = dnsgrpcd("-conf", str(b_conf), wait_for=[])
    b.wait_for_log(f"listening on grpc://unix:{sock}")
    assert stat.S_ISSOCK(os.lstat(sock).st_mode)
    assert stat.S_IMODE(os.lstat(sock).st_mode) == 0o660
    # A: plain DNS in front, B as its gRPC upstream over the socket, passing the client's address on.
    port = support.free_port()
    a_conf = support.write_corefile(tmp_path, f".:{port} {{\n    bind 127.0.0.1\n"
                                              f"    grpc . unix://{sock} {{\n        send_client_address\n    }}\n}}\n",
                                    name="A")
    dnsgrpcd("-conf", str(a_conf), wait_for=[f"127.0.0.1:{port}"])
    for source in ("127.0.0.7", "127.0.0.8"):
        reply = ask_udp(port, "who.example.", source=source)
        assert reply.rcode() == dns.rcode.NOERROR
        assert whoami_address(reply) == source, reply
    # A reload of B: the new listener takes the path over before the old one stops, and the old one's going does
    # not take the new socket with it ('configuration reloaded' is logged once the old configuration has stopped).
    inode = os.lstat(sock).st_ino
    b.popen.send_signal(signal.SIGHUP)
    b.wait_for_log("configuration reloaded")
    assert os.path.exists(sock) and os.lstat(sock).st_ino != inode
    support.wait_until(lambda: whoami_address(ask_udp(port, "who.example.", source="127.0.0.9")) == "127.0.0.9",
                       timeout=support.READY_TIMEOUT, what="the chain answering through the reloaded listener")
    assert stat.S_ISSOCK(os.lstat(sock).st_mode) and stat.S_IMODE(os.lstat(sock).st_mode) == 0o660
    # B stops: its socket file goes with it.
    b.stop()
    assert not sock.exists()


def test_an_untrusted_peer_cannot_name_its_client(dnsgrpcd, tmp_path):
    grpc_port = support.free_port()
    b_conf = support.write_corefile(tmp_path, f"grpc://.:{grpc_port} {{\n    bind 127.0.0.1\n"
                                              f"    trusted_proxies 10.0.0.0/8\n    whoami\n}}\n", name="B")
    dnsgrpcd("-conf", str(b_conf), wait_for=[f"127.0.0.1:{grpc_port}"])
    # A client that writes the metadata itself, from an address B does not trust: B sees the client as it is.
    import grpc
    pb2 = support.load_dns_pb2()
    query = dns.message.make_query("who.example.", "A")
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        call = channel.unary_unary(support.METHOD, request_serializer=pb2.DnsPacket.SerializeToString,
                                   response_deserializer=pb2.DnsPacket.FromString)
        packet = call(pb2.DnsPacket(msg=query.to_wire()), metadata=[("x-forwarded-for", "192.0.2.1")],
                      timeout=support.CALL_TIMEOUT)
    assert whoami_address(dns.message.from_wire(packet.msg)) == "127.0.0.1"


def test_a_socket_path_that_is_a_file_stops_start_up(tmp_path):
    taken = tmp_path / "taken"
    taken.write_text("not a socket\n")
    conf = support.write_corefile(tmp_path, f"grpc://unix:{taken} {{\n    whoami\n}}\n")
    result = support.run_dnsgrpcd("-conf", str(conf))
    assert result.returncode != 0
    assert f"Corefile:1: '{taken}' exists and is not a unix socket" in result.stderr + result.stdout
    assert taken.read_text() == "not a socket\n"


# --- named targets ------------------------------------------------------------------------------------------------

def test_named_target_spreads_over_every_address_and_follows_the_records(dnsgrpcd, tmp_path):
    grpc_port = support.free_port()
    # Three of our gRPC listeners on 127.0.0.1-3, each answering tag.test with its own address.
    listeners = {}
    for i in (1, 2, 3):
        conf = support.write_corefile(tmp_path, f"grpc://.:{grpc_port} {{\n    bind 127.0.0.{i}\n    hosts {{\n"
                                                f"        10.0.0.{i} tag.test\n    }}\n}}\n", name=f"S{i}")
        listeners[i] = dnsgrpcd("-conf", str(conf), wait_for=[f"127.0.0.{i}:{grpc_port}"], name=f"s{i}")
    # The name svc.test, served from a hosts file that is read again every second.
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 svc.test\n127.0.0.2 svc.test\n")
    dns_port = support.free_port()
    r_conf = support.write_corefile(tmp_path, f".:{dns_port} {{\n    bind 127.0.0.1\n    hosts {hosts} {{\n"
                                              f"        reload 1s\n    }}\n}}\n", name="R")
    dnsgrpcd("-conf", str(r_conf), wait_for=[f"127.0.0.1:{dns_port}"], name="resolver")
    # The bridge: gRPC core resolves the name with that server and spreads calls over every address.
    port = support.free_port()
    c_conf = support.write_corefile(tmp_path, f".:{port} {{\n    bind 127.0.0.1\n"
                                              f"    grpc . dns://127.0.0.1:{dns_port}/svc.test:{grpc_port}\n}}\n",
                                    name="C")
    dnsgrpcd("-conf", str(c_conf), wait_for=[f"127.0.0.1:{port}"], name="bridge")

    def answers(count: int) -> dict[str, int]:
        seen: dict[str, int] = {}
        for _ in range(count):
            reply = ask_udp(port, "tag.test.")
            key = reply.answer[0][0].address if reply.answer else dns.rcode.to_text(reply.rcode())
            seen[key] = seen.get(key, 0) + 1
        return seen

    # round_robin over every address: both are used (alternately, once both connections are ready).
    support.wait_until(lambda: set(answers(10)) == {"10.0.0.1", "10.0.0.2"}, timeout=support.READY_TIMEOUT,
                       what="calls spread over both addresses of svc.test")
    # The record changes from .2 to .3 and the listener on .2 goes away: gRPC core resolves the name again when its
    # connection to .2 fails, and calls reach .3 and never .2.
    hosts.write_text("127.0.0.1 svc.test\n127.0.0.3 svc.test\n")
    support.wait_until(lambda: ask_udp(dns_port, "svc.test.").answer
                       and {rd.address for rd in ask_udp(dns_port, "svc.test.").answer[0]} == {"127.0.0.1", "127.0.0.3"},
                       timeout=support.READY_TIMEOUT, what="the hosts file read again")
    listeners[2].stop()
    support.wait_until(lambda: set(answers(10)) == {"10.0.0.1", "10.0.0.3"}, timeout=support.READY_TIMEOUT,
                       what="calls spread over the new addresses of svc.test")


# --- EDNS Client Subnet ---------------------------------------------------------------------------------------------

def test_client_subnet_is_the_clients_network_and_replaces_a_spoofed_one(dnsgrpcd, tmp_path, ecs_echo):
    port, grpc_port = support.free_port(), support.free_port()
    conf = support.write_corefile(tmp_path, f".:{port} {{\n    bind 127.0.0.1 ::1\n"
                                            f"    forward . {ecs_echo.addr} {{\n        client_subnet 24 56\n    }}\n}}\n"
                                            f"grpc://.:{grpc_port} {{\n    bind 127.0.0.1\n"
                                            f"    forward . {ecs_echo.addr} {{\n        client_subnet 16\n    }}\n}}\n")
    dnsgrpcd("-conf", str(conf), wait_for=[f"127.0.0.1:{port}", f"127.0.0.1:{grpc_port}"])
    # Over UDP from 127.0.9.9: its /24.
    assert txt(ask_udp(port, "a.example.", "TXT", source="127.0.9.9")) == "ecs=127.0.9.0/24"
    # A client that claims another network: the claim is replaced, not passed on.
    spoofed = dns.edns.ECSOption("203.0.113.0", 24)
    assert txt(ask_udp(port, "b.example.", "TXT", source="127.0.9.9", use_edns=0, options=[spoofed])) \
        == "ecs=127.0.9.0/24"
    # A client without EDNS: the upstream still learns the subnet; the client gets no OPT back.
    plain = ask_udp(port, "c.example.", "TXT", source="127.0.9.9")
    assert plain.edns < 0, "no OPT in the reply to a query without one"
    # IPv6: its /56.
    query = dns.message.make_query("d.example.", "TXT")
    reply = dns.query.udp(query, "::1", port=port, timeout=support.CALL_TIMEOUT)
    assert txt(reply) == "ecs=::/56"
    # A gRPC client: its peer address, at the gRPC block's /16.
    reply = dns.message.from_wire(support.grpc_query(f"127.0.0.1:{grpc_port}",
                                                     dns.message.make_query("e.example.", "TXT").to_wire()))
    assert txt(reply) == "ecs=127.0.0.0/16"


def test_metadata_chain_carries_the_first_client_into_ecs(dnsgrpcd, tmp_path, ecs_echo):
    """client 127.0.5.5 -> A (DNS, gRPC upstream with send_client_address) -> B (gRPC, trusting A) -> upstream with
    client_subnet 32: the upstream sees the first client, not A. Without trust, it sees A."""
    grpc_port, untrusted_port = support.free_port(), support.free_port()
    b_conf = support.write_corefile(tmp_path, f"grpc://.:{grpc_port} {{\n    bind 127.0.0.1\n"
                                              f"    trusted_proxies 127.0.0.0/8\n"
                                              f"    forward . {ecs_echo.addr} {{\n        client_subnet 32\n    }}\n}}\n"
                                              f"grpc://.:{untrusted_port} {{\n    bind 127.0.0.1\n"
                                              f"    forward . {ecs_echo.addr} {{\n        client_subnet 32\n    }}\n}}\n",
                                    name="B")
    dnsgrpcd("-conf", str(b_conf), wait_for=[f"127.0.0.1:{grpc_port}", f"127.0.0.1:{untrusted_port}"])
    port, other = support.free_port(), support.free_port()
    a_conf = support.write_corefile(tmp_path, f".:{port} {{\n    bind 127.0.0.1\n"
                                              f"    grpc . 127.0.0.1:{grpc_port} {{\n        send_client_address\n    }}\n}}\n"
                                              f".:{other} {{\n    bind 127.0.0.1\n"
                                              f"    grpc . 127.0.0.1:{untrusted_port} {{\n        send_client_address\n    }}\n}}\n",
                                    name="A")
    dnsgrpcd("-conf", str(a_conf), wait_for=[f"127.0.0.1:{port}", f"127.0.0.1:{other}"])
    assert txt(ask_udp(port, "chain.example.", "TXT", source="127.0.5.5")) == "ecs=127.0.5.5/32"
    assert txt(ask_udp(other, "chain.example.", "TXT", source="127.0.5.5")) == "ecs=127.0.0.1/32"


# --- latency-aware selection ----------------------------------------------------------------------------------------

def test_least_outstanding_prefers_the_faster_and_moves_when_it_slows(dnsgrpcd, tmp_path):
    fast = support.TaggedResponder("fast").start()
    slow = support.TaggedResponder("slow", delay=0.15).start()
    try:
        port, metrics = support.free_port(), f"127.0.0.1:{support.free_port()}"
        conf = support.write_corefile(tmp_path, support.forward_corefile(
            port, [fast.addr, slow.addr], ["policy least_outstanding"], plugins=[f"prometheus {metrics}"]))
        dnsgrpcd("-conf", str(conf), wait_for=[f"127.0.0.1:{port}", metrics])

        def tags(prefix: str, count: int) -> list[str]:
            return [support.txt_tag(ask_udp(port, f"{prefix}{i}.example.", "TXT")) for i in range(count)]

        # One query at a time, so nothing is outstanding and the moving average decides: after trying each once,
        # the fast one takes nearly all (its replies come in milliseconds, the slow one's after 150 ms at least).
        first = tags("q", 30)
        assert first.count("fast") >= 25, first
        # The fast one slows to 400 ms: its average passes the other's within a few queries, and the rest go there.
        fast.delay = 0.4
        after = tags("r", 30)
        assert after.count("slow") >= 20, after
        assert after[-10:].count("slow") >= 9, after
        latency = support.scrape(metrics)
        assert latency.value("dnsgrpcd_upstream_latency_seconds", to=slow.addr) >= 0.15
    finally:
        fast.stop()
        slow.stop()


# --- gRPC connection pool -------------------------------------------------------------------------------------------

def connections_to(port: int) -> int:
    """Established TCP connections to `port` on this machine, IPv4 and IPv6 sockets alike (gRPC core connects from
    an IPv6 socket with a mapped address, which /proc/net/tcp does not list)."""
    import subprocess
    out = subprocess.run(["ss", "-Htn", "state", "established"], capture_output=True, text=True, timeout=10).stdout
    return sum(1 for line in out.splitlines() if len(line.split()) >= 4 and line.split()[3].endswith(f":{port}"))


@pytest.mark.parametrize("channels", [1, 3])
def test_channels_give_a_grpc_upstream_that_many_connections(dnsgrpcd, tmp_path, channels):
    grpc_port = support.free_port()
    b_conf = support.write_corefile(tmp_path, f"grpc://.:{grpc_port} {{\n    bind 127.0.0.1\n    whoami\n}}\n",
                                    name="B")
    dnsgrpcd("-conf", str(b_conf), wait_for=[f"127.0.0.1:{grpc_port}"])
    port = support.free_port()
    a_conf = support.write_corefile(tmp_path, f".:{port} {{\n    bind 127.0.0.1\n    grpc . 127.0.0.1:{grpc_port} {{\n"
                                              f"        channels {channels}\n        keepalive 10s 2s\n    }}\n}}\n",
                                    name="A")
    dnsgrpcd("-conf", str(a_conf), wait_for=[f"127.0.0.1:{port}"])
    # Calls take turns on the channels: 2 per channel reach every one of them, each its own connection.
    for i in range(2 * channels):
        assert ask_udp(port, f"q{i}.example.").rcode() == dns.rcode.NOERROR
    support.wait_until(lambda: connections_to(grpc_port) == channels,
                       timeout=support.READY_TIMEOUT, what=f"{channels} connections to the gRPC upstream")
