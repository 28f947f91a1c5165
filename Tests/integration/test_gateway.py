"""dnsgrpcd as a gRPC -> DNS gateway: DnsService Query calls answered by a plain DNS upstream (knotd).

The reference for every answer is the real `dig` asking knotd directly.
"""

from __future__ import annotations

import collections
import signal
import socket
import subprocess
import time

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import grpc
import pytest

import support

QUERIES = [
    # (name, type, EDNS payload or None)
    ("www.example.org.", "A", None),
    ("example.org.", "MX", None),
    ("example.org.", "NS", None),
    ("www.example.org.", "AAAA", None),
    ("ftp.example.org.", "A", None),  # CNAME chain inside the zone
    ("nope.example.org.", "A", None),  # NXDOMAIN, SOA in authority
    ("www.example.org.", "TXT", None),  # NODATA
    ("big.example.org.", "TXT", 4096),  # ~900 bytes: needs EDNS on the UDP hop
]


def make_query(name: str, rdtype: str, payload: int | None = None) -> dns.message.Message:
    if payload is None:
        return dns.message.make_query(name, rdtype)
    return dns.message.make_query(name, rdtype, use_edns=0, payload=payload)


def dig_reference(knot: support.Knotd, name: str, rdtype: str, payload: int | None) -> support.DigResult:
    options = [f"+bufsize={payload}"] if payload else ["+noedns"]
    return support.dig(knot.addr, name, rdtype, *options)


def assert_reply_to(query: dns.message.Message, reply: dns.message.Message) -> None:
    assert reply.id == query.id, f"reply ID {reply.id} for query ID {query.id}"
    assert reply.flags & dns.flags.QR, "reply without the QR flag"
    assert reply.question == query.question, f"question {reply.question} for {query.question}"


@pytest.mark.parametrize("name,rdtype,payload", QUERIES, ids=[f"{n}{t}" for n, t, _ in QUERIES])
def test_answers_match_dig_against_upstream(gateway, knot, name, rdtype, payload):
    expected = dig_reference(knot, name, rdtype, payload)
    query = make_query(name, rdtype, payload)

    reply_wire = support.grpc_query(gateway.grpc_addr, query.to_wire())

    reply = dns.message.from_wire(reply_wire)
    assert_reply_to(query, reply)
    assert not reply.flags & dns.flags.TC, "truncated reply over gRPC"
    assert dns.rcode.to_text(reply.rcode()) == expected.rcode
    assert support.rr_set(reply.answer) == expected.answer, expected.text
    assert support.rr_set(reply.authority) == expected.authority, expected.text
    if name.startswith("big."):
        assert len(reply_wire) > 512


BAD_REQUESTS = {
    "not-a-DnsPacket": b"\xff\xff\xff",
    "empty-msg": b"",  # DnsPacket{} serialises to no bytes at all
    "garbage-msg": None,  # filled in below: DnsPacket{msg: "hello"}
    "msg-over-65535-bytes": None,  # DnsPacket{msg: a query padded to 65536 bytes}
}


def bad_request(kind: str, dns_pb2) -> bytes:
    if kind == "garbage-msg":
        return dns_pb2.DnsPacket(msg=b"hello").SerializeToString()
    if kind == "msg-over-65535-bytes":
        wire = make_query("www.example.org.", "A").to_wire()
        return dns_pb2.DnsPacket(msg=wire + b"\0" * (65536 - len(wire))).SerializeToString()
    return BAD_REQUESTS[kind]


def test_bad_request_bodies_are_what_the_test_says(dns_pb2):
    """Guards the inputs of test_bad_requests_get_invalid_argument, independently of dnsgrpcd."""
    with pytest.raises(Exception):
        dns_pb2.DnsPacket.FromString(b"\xff\xff\xff")
    assert dns_pb2.DnsPacket.FromString(b"").msg == b""
    assert len(dns_pb2.DnsPacket.FromString(bad_request("msg-over-65535-bytes", dns_pb2)).msg) == 65536


@pytest.mark.parametrize("kind", list(BAD_REQUESTS))
def test_bad_requests_get_invalid_argument(gateway, dns_pb2, kind):
    with support.DnsServiceClient(gateway.grpc_addr) as client:
        with pytest.raises(grpc.RpcError) as raised:
            client.call_raw(bad_request(kind, dns_pb2))
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, raised.value
        assert raised.value.details(), "INVALID_ARGUMENT without a message"

        # The server goes on: a good query on the same channel, and one on a new channel.
        query = make_query("www.example.org.", "A")
        reply = dns.message.from_wire(client.query(query.to_wire()))
        assert_reply_to(query, reply)
        assert reply.rcode() == dns.rcode.NOERROR and reply.answer
    reply = dns.message.from_wire(support.grpc_query(gateway.grpc_addr, query.to_wire()))
    assert reply.rcode() == dns.rcode.NOERROR and reply.answer


@pytest.mark.parametrize("upstream", ["refusing", "silent"])
def test_upstream_down_gives_servfail_within_timeout(dnsgrpcd, upstream):
    """refusing: nobody listens (ICMP port unreachable); silent: a socket that takes queries and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        if upstream == "silent":
            sink.bind(("127.0.0.1", 0))
            dead = f"127.0.0.1:{sink.getsockname()[1]}"
        else:
            dead = f"127.0.0.1:{support.free_port()}"
        grpc_addr = f"127.0.0.1:{support.free_port()}"
        dnsgrpcd("--grpc", grpc_addr, "--upstream", dead, "--timeout", "1s")
        query = make_query("www.example.org.", "A")

        with support.DnsServiceClient(grpc_addr) as client:
            # Only the call is timed, not the channel's connection (slow on a loaded machine).
            grpc.channel_ready_future(client.channel).result(timeout=support.READY_TIMEOUT)
            started = time.monotonic()
            reply_wire = client.query(query.to_wire())
            elapsed = time.monotonic() - started

    reply = dns.message.from_wire(reply_wire)
    assert_reply_to(query, reply)
    assert reply.rcode() == dns.rcode.SERVFAIL
    # About 1 s (silent) or at once (refusing). Without --timeout the 5 s request deadline would apply: 4 s tells
    # the two apart with 3 s to spare for a loaded machine.
    assert elapsed < 4, f"SERVFAIL took {elapsed:.2f}s with --timeout 1s (the default deadline is 5 s)"


def test_thousand_concurrent_calls(gateway, knot):
    names = [("www.example.org.", "A"), ("example.org.", "MX"), ("mail.example.org.", "AAAA"),
             ("example.org.", "NS"), ("ftp.example.org.", "A")]
    expected = {key: dig_reference(knot, *key, None) for key in names}
    queries = [make_query(*names[i % len(names)]) for i in range(1000)]

    with support.DnsServiceClient(gateway.grpc_addr) as client:
        started = time.monotonic()
        futures = [client.query_future(q.to_wire(), timeout=60) for q in queries]
        replies = [f.result(timeout=90).msg for f in futures]
        elapsed = time.monotonic() - started

    problems = collections.Counter()
    for query, wire in zip(queries, replies):
        reply = dns.message.from_wire(wire)
        key = (query.question[0].name.to_text(), dns.rdatatype.to_text(query.question[0].rdtype))
        if reply.id != query.id or reply.question != query.question:
            problems["reply does not match its query"] += 1
        elif reply.rcode() != dns.rcode.NOERROR:
            problems[f"rcode {dns.rcode.to_text(reply.rcode())}"] += 1
        elif support.rr_set(reply.answer) != expected[key].answer:
            problems[f"wrong answer for {key}"] += 1
    assert not problems, f"{sum(problems.values())} of 1000 bad: {dict(problems)} ({elapsed:.2f}s)"
    print(f"1000 concurrent calls answered in {elapsed:.2f}s")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_exits_zero_on_signal_after_serving(gateway, sig):
    query = make_query("www.example.org.", "A")
    support.grpc_query(gateway.grpc_addr, query.to_wire())
    assert gateway.stop(sig) == 0


def test_protobuf_c_code_is_current():
    done = subprocess.run([str(support.REPO / "Protos" / "generate.sh"), "--check"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_demo_script_oneshot(tmp_path):
    """`make demo`'s script, once through: knotd + dnsgrpcd, two queries printed, both stopped cleanly."""
    env = support.child_env({"DEMO_ONESHOT": "1", "GRPC_PORT": str(support.free_port()),
                             "DEMO_DIR": str(tmp_path / "demo"),
                             "DNSGRPCD": str(support.dnsgrpcd_binary())})
    done = subprocess.run([str(support.REPO / "scripts" / "demo.sh")], capture_output=True, text=True,
                          timeout=120, env=env, stdin=subprocess.DEVNULL)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "192.0.2.10" in done.stdout, output  # www.example.org A
    assert "mail.example.org." in done.stdout, output  # example.org MX


@pytest.mark.parametrize("size,status", [(200_000, "INVALID_ARGUMENT"), (262_144 - 16, "INVALID_ARGUMENT"),
                                         (1 << 20, "RESOURCE_EXHAUSTED"), (4 << 20, "RESOURCE_EXHAUSTED")])
def test_request_size_statuses_are_as_the_readme_says(gateway, dns_pb2, size, status):
    """Issue 17, defect 2: a msg over 65,535 bytes in a request of up to 256 KiB is read and refused with
    INVALID_ARGUMENT; a larger request is refused by gRPC core before it is read, with RESOURCE_EXHAUSTED."""
    wire = make_query("www.example.org.", "A").to_wire()
    request = dns_pb2.DnsPacket(msg=wire + b"\0" * (size - len(wire))).SerializeToString()
    with support.DnsServiceClient(gateway.grpc_addr) as client:
        with pytest.raises(grpc.RpcError) as raised:
            client.call_raw(request)
        assert raised.value.code() == getattr(grpc.StatusCode, status), (size, raised.value)
    # The listener still answers.
    reply = dns.message.from_wire(support.grpc_query(gateway.grpc_addr, wire))
    assert reply.rcode() == dns.rcode.NOERROR


def _cancelled_call_flood(addr: str, calls: int) -> float:
    """`calls` Query calls for a name whose upstream never answers, with 1-50 ms deadlines and every third
    cancelled at once, all at the same time on one channel; returns when every one has ended for the client."""
    import asyncio
    import random

    pb2 = support.load_dns_pb2()
    request = pb2.DnsPacket(msg=dns.message.make_query("x.hole.test", "A").to_wire())

    async def flood() -> None:
        async with grpc.aio.insecure_channel(addr, options=support.CHANNEL_OPTIONS) as channel:
            query = channel.unary_unary(support.METHOD, request_serializer=pb2.DnsPacket.SerializeToString,
                                        response_deserializer=pb2.DnsPacket.FromString)
            pending = []
            for number in range(0, calls, 50):  # in waves, so that calls reach the server before they end
                wave = [query(request, timeout=random.uniform(0.001, 0.050)) for _ in range(min(50, calls - number))]
                await asyncio.sleep(0.002)
                for call in wave[::3]:
                    call.cancel()
                pending += wave
            for call in pending:
                try:
                    await call
                except (grpc.aio.AioRpcError, asyncio.CancelledError):
                    pass

    asyncio.run(flood())
    return time.monotonic()


def test_cancelled_and_expired_calls_free_their_slots_at_once(dnsgrpcd, tmp_path):
    """Issue 17, defect 3: 5,000 calls to an upstream that never answers, 1-50 ms deadlines, a third cancelled:
    they kept their slots (and their upstream exchanges) for the forwarder's 5 s, so a good query waited 3.5 s.
    Now a cancel or a passed deadline frees the slot at once and the exchange is let go.

    The forwarder's deadline is 60 s here (--timeout): what a call its client gave up kept, it would keep for a
    minute, far beyond any delay of a loaded machine, so the bounds below tell the two apart on any machine."""
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # takes queries and never answers
    hole.bind(("127.0.0.1", 0))
    hole_addr = f"127.0.0.1:{hole.getsockname()[1]}"
    grpc_port, metrics_port = support.free_port(), support.free_port()
    conf = support.write_corefile(tmp_path, f"""
grpc://hole.test:{grpc_port} {{
    bind 127.0.0.1
    forward . {hole_addr}
}}
grpc://.:{grpc_port} {{
    bind 127.0.0.1
    prometheus 127.0.0.1:{metrics_port}
    whoami
}}
""")
    addr, metrics = f"127.0.0.1:{grpc_port}", f"127.0.0.1:{metrics_port}"
    dnsgrpcd("-conf", str(conf), "--timeout", "60s", wait_for=[addr, metrics])

    def let_go() -> bool:
        m = support.scrape(metrics)
        return (m.value("dnsgrpcd_grpc_calls_in_service") == 0
                and m.value("dnsgrpcd_upstream_in_flight", to=hole_addr) == 0)

    try:
        support.grpc_query(addr, dns.message.make_query("example.org", "A").to_wire())  # warm up
        # Half the flood must reach the listener before it ends for the client, or the test proves nothing (calls
        # cancelled or expired before they were sent never do). How many do depends on the machine: a loaded one
        # sends fewer in time, so the flood is repeated (up to 4 times) until 2,500 have.
        for flood in range(1, 5):
            _cancelled_call_flood(addr, 5_000)
            started = time.monotonic()
            reply = dns.message.from_wire(support.grpc_query(addr,
                                                             dns.message.make_query("example.org", "A").to_wire()))
            waited = time.monotonic() - started
            assert reply.rcode() == dns.rcode.NOERROR and reply.additional, "whoami answers"
            assert waited < 10, f"a good query waited {waited:.2f} s behind calls their clients had given up"
            support.wait_until(let_go, timeout=support.READY_TIMEOUT,
                               what="calls and upstream exchanges let go (the forwarder would keep them 60 s)")
            cancelled = support.scrape(metrics).value("dnsgrpcd_grpc_calls_cancelled_total")
            if cancelled >= 2_500:
                break
        assert cancelled >= 2_500, f"only {cancelled:g} of {flood * 5_000:,} calls reached the listener before " \
                                   f"they ended"
    finally:
        hole.close()


def test_grpc_calls_limit_in_the_corefile_bounds_the_calls_in_service(dnsgrpcd, tmp_path):
    """`limits { grpc_calls 2 }`: with two calls held by an upstream that never answers, a third call waits in gRPC
    core (it is not refused) and is served as soon as one of them ends.

    The held calls are held until the test lets them go (the forwarder's deadline is 60 s, --timeout), and the third
    call is made once both are in service, so that no step depends on how fast the machine is."""
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind(("127.0.0.1", 0))
    grpc_port, metrics_port = support.free_port(), support.free_port()
    conf = support.write_corefile(tmp_path, f"""
grpc://hole.test:{grpc_port} {{
    bind 127.0.0.1
    limits {{
        grpc_calls 2
    }}
    forward . 127.0.0.1:{hole.getsockname()[1]}
}}
grpc://.:{grpc_port} {{
    bind 127.0.0.1
    prometheus 127.0.0.1:{metrics_port}
    whoami
}}
""")
    addr, metrics = f"127.0.0.1:{grpc_port}", f"127.0.0.1:{metrics_port}"
    dnsgrpcd("-conf", str(conf), "--timeout", "60s", wait_for=[addr, metrics])
    try:
        with support.DnsServiceClient(addr) as client:
            good = dns.message.make_query("example.org", "A").to_wire()
            client.query(good)  # the channel is up
            held = [client.query_future(dns.message.make_query(f"{n}.hole.test", "A").to_wire(), timeout=120)
                    for n in range(2)]
            support.wait_until(lambda: support.scrape(metrics).value("dnsgrpcd_grpc_calls_in_service") == 2,
                               support.READY_TIMEOUT, "both held calls in service")
            with pytest.raises(grpc.RpcError) as waited:
                client.query(good, timeout=1.0)
            assert waited.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, "it waited in gRPC core, not refused"
            waiting = client.query_future(good)
            held[0].cancel()  # one of them ends: the waiting call is served
            reply = dns.message.from_wire(waiting.result().msg)
            assert reply.rcode() == dns.rcode.NOERROR
            assert not held[1].done(), "the other is still held"
            held[1].cancel()
    finally:
        hole.close()
