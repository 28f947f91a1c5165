#!/usr/bin/env python3
"""`make soak`: dnsgrpcd at saturation for DURATION seconds (60) through UDP, TCP, DoT and gRPC at once, with
malformed and hostile clients alongside (the six of issue 17) and the upstream (knotd) killed and restarted in the
middle. Prints RSS every 5 s, then each good load's answers by rcode and its lost queries, and what the hostile
clients saw. Not part of `make test`: it takes the machine for a minute.

Good loads: dnsperf over UDP, TCP and DoT (`-t 10`: the forwarder answers SERVFAIL after its own 5 s, so a query
dnsperf counts lost got no answer at all), and a gRPC client (grpcio, one process, 64 calls in flight, 10 s
deadlines). Hostile, each in a process of its own: random and mutated datagrams; valid queries of 2-65 KB over UDP;
gRPC messages of 100 KB-4 MiB; gRPC calls with 1-50 ms deadlines, a third cancelled, to a name whose upstream never
answers; 1,500 idle TCP connections and 300 idle DoT connections (a TLS handshake never started); 200 slowloris
connections writing a byte every half second; clients pipelining queries for a 900-byte answer and reading nothing.

Verdicts: RSS after warm-up (the first 30 s) stays within 10% of its median; no good query goes unanswered (those
in flight when the upstream is killed get SERVFAIL within the forwarder's 5 s).

    python3 bench/soak.py [--duration 60] [--binary .build-release/release/dnsgrpcd]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import re
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "Tests" / "integration"))
sys.path.insert(0, str(REPO / "bench"))
import support  # noqa: E402
from bench import start_knot, rss_kib  # noqa: E402

QUERIES = REPO / "bench" / "queries.txt"
CERTS = REPO / "certs"
SAMPLE_EVERY = 5.0
# RSS climbs for the first half minute under this load (caches, connection tables, the allocator's own pools), then
# stays within a few percent (180 s runs: 125.8 MiB at 30 s, 135.8 at 175 s).
WARM_UP = 30.0
DNSPERF_OUTSTANDING = {"udp": 100, "tcp": 100, "dot": 100}
GRPC_IN_FLIGHT = 64


def corefile(p: dict[str, int], knot: str, hole: str) -> str:
    return f"""
dns://.:{p['dns']} {{
    bind 127.0.0.1
    prometheus 127.0.0.1:{p['metrics']}
    errors
    forward . {knot}
}}
tls://.:{p['dot']} {{
    bind 127.0.0.1
    tls {CERTS / 'server.pem'} {CERTS / 'server-key.pem'}
    forward . {knot}
}}
grpc://.:{p['grpc']} {{
    bind 127.0.0.1
    forward . {knot}
}}
grpc://hole.test:{p['grpc']} {{
    bind 127.0.0.1
    forward . {hole}
}}
"""


# --- good loads ------------------------------------------------------------------------------------------------------

def start_dnsperf(port: int, mode: str, duration: float, out: Path) -> subprocess.Popen:
    argv = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-m", mode, "-d", str(QUERIES), "-l", f"{duration:g}",
            "-c", "2", "-q", str(DNSPERF_OUTSTANDING[mode]), "-t", "10"]
    return subprocess.Popen(argv, stdout=out.open("w"), stderr=subprocess.STDOUT)


def dnsperf_result(out: Path) -> dict:
    text = out.read_text()
    found = lambda pattern: int(m.group(1)) if (m := re.search(pattern, text)) else -1  # noqa: E731
    rcodes = dict((name, int(count)) for name, count in
                  re.findall(r"(\w+) (\d+) \([0-9.]+%\)", (re.search(r"Response codes:\s+(.*)", text) or
                                                           re.match("()", "")).group(1)))
    return {"sent": found(r"Queries sent:\s+(\d+)"), "answered": found(r"Queries completed:\s+(\d+)"),
            "lost": found(r"Queries lost:\s+(\d+)"), "rcodes": rcodes}


def grpc_load(addr: str, duration: float, result: multiprocessing.Queue) -> None:
    """GRPC_IN_FLIGHT calls at a time for `duration`: answers by rcode, and calls with no answer (by status)."""
    import dns.message
    import dns.rcode
    import grpc
    pb2 = support.load_dns_pb2()
    names = [line.split()[0] for line in QUERIES.read_text().splitlines() if line.strip()]
    counts: dict[str, int] = {}

    async def worker(query, stop: float) -> None:
        while time.monotonic() < stop:
            name = random.choice(names)
            request = pb2.DnsPacket(msg=dns.message.make_query(name, "A").to_wire())
            try:
                reply = await query(request, timeout=10)
                key = dns.rcode.to_text(dns.message.from_wire(reply.msg).rcode())
            except grpc.aio.AioRpcError as e:
                key = f"lost:{e.code().name}"
            counts[key] = counts.get(key, 0) + 1

    async def main() -> None:
        async with grpc.aio.insecure_channel(addr, options=support.CHANNEL_OPTIONS) as channel:
            query = channel.unary_unary(support.METHOD, request_serializer=pb2.DnsPacket.SerializeToString,
                                        response_deserializer=pb2.DnsPacket.FromString)
            stop = time.monotonic() + duration
            await asyncio.gather(*(worker(query, stop) for _ in range(GRPC_IN_FLIGHT)))

    asyncio.run(main())
    result.put(("grpc", counts))


# --- hostile clients -------------------------------------------------------------------------------------------------
# Hostile connections come from 127.0.0.2 and up, the good loads from 127.0.0.1: one address holds at most 256
# connections, so a flood from the good clients' own address would only measure that limit.

def connect_from(source: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(2)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def sources(first: int, count: int) -> list[str]:
    return [f"127.0.0.{first + n}" for n in range(count)]


def malformed_udp(port: int, stop: float, result: multiprocessing.Queue) -> None:
    """Random bytes, and real queries with bytes flipped, at about 2,000 a second."""
    import dns.message
    wire = bytearray(dns.message.make_query("www.example.org", "A").to_wire())
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sent = 0
    while time.monotonic() < stop:
        for _ in range(100):
            if random.random() < 0.5:
                data = os.urandom(random.randint(0, 600))
            else:
                data = bytearray(wire)
                for _ in range(random.randint(1, 6)):
                    data[random.randrange(len(data))] = random.randrange(256)
            try:
                sock.sendto(bytes(data), ("127.0.0.1", port))
                sent += 1
            except BlockingIOError:
                pass
        try:
            while sock.recv(65535):
                pass
        except BlockingIOError:
            pass
        time.sleep(0.05)
    result.put(("malformed UDP datagrams", {"sent": sent}))


def large_udp(port: int, stop: float, result: multiprocessing.Queue) -> None:
    """Valid queries padded (EDNS0 padding option) to 2,049-65,000 bytes; each should be answered."""
    import dns.edns
    import dns.message
    answered = asked = 0
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(3)
    while time.monotonic() < stop:
        size = random.choice([2049, 4097, 16000, 65000])
        padding = dns.edns.GenericOption(dns.edns.PADDING, bytes(size))
        query = dns.message.make_query("www.example.org", "A", use_edns=0, payload=4096, options=[padding])
        asked += 1
        try:
            sock.sendto(query.to_wire(), ("127.0.0.1", port))
            dns.message.from_wire(sock.recv(65535))
            answered += 1
        except (OSError, Exception):  # noqa: BLE001 - counted as unanswered
            pass
        time.sleep(0.02)
    result.put(("large UDP queries", {"asked": asked, "answered": answered}))


def grpc_oversized(addr: str, stop: float, result: multiprocessing.Queue) -> None:
    """DnsPacket requests of 100 KB to 4 MiB: INVALID_ARGUMENT or RESOURCE_EXHAUSTED, each."""
    import grpc
    statuses: dict[str, int] = {}
    with support.DnsServiceClient(addr) as client:
        while time.monotonic() < stop:
            size = random.choice([100_000, 300_000, 1 << 20, 4 << 20])
            try:
                client.call_raw(b"\x0a" + _varint(size) + bytes(size), timeout=5)
                key = "OK"
            except grpc.RpcError as e:
                key = e.code().name
            statuses[key] = statuses.get(key, 0) + 1
            time.sleep(0.05)
    result.put(("gRPC oversized requests", statuses))


def _varint(value: int) -> bytes:
    out = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        out += bytes([byte | (0x80 if value else 0)])
        if not value:
            return out


def grpc_cancel_flood(addr: str, stop: float, result: multiprocessing.Queue) -> None:
    """Waves of 50 calls to hole.test (never answered) with 1-50 ms deadlines, a third cancelled at once."""
    import dns.message
    import grpc
    pb2 = support.load_dns_pb2()
    request = pb2.DnsPacket(msg=dns.message.make_query("x.hole.test", "A").to_wire())
    made = 0

    async def flood() -> None:
        nonlocal made
        async with grpc.aio.insecure_channel(addr, options=support.CHANNEL_OPTIONS) as channel:
            query = channel.unary_unary(support.METHOD, request_serializer=pb2.DnsPacket.SerializeToString,
                                        response_deserializer=pb2.DnsPacket.FromString)
            while time.monotonic() < stop:
                wave = [query(request, timeout=random.uniform(0.001, 0.050)) for _ in range(50)]
                await asyncio.sleep(0.002)
                for call in wave[::3]:
                    call.cancel()
                for call in wave:
                    try:
                        await call
                    except (grpc.aio.AioRpcError, asyncio.CancelledError):
                        pass
                made += len(wave)
                await asyncio.sleep(0.05)

    asyncio.run(flood())
    result.put(("gRPC calls cancelled or expired", {"calls": made}))


def idle_flood(port: int, count: int, addresses: list[str], stop: float, result: multiprocessing.Queue,
               label: str) -> None:
    """`count` connections that send nothing, from `addresses` in turn; each one the server closes is opened again."""
    opened = closed = 0
    sockets: list[socket.socket] = []
    while time.monotonic() < stop:
        while len(sockets) < count and time.monotonic() < stop:
            try:
                sock = connect_from(addresses[opened % len(addresses)], port)
                sock.setblocking(False)
                sockets.append(sock)
                opened += 1
            except OSError:
                time.sleep(0.05)
                break
        time.sleep(0.5)
        alive = []
        for sock in sockets:
            try:
                gone = sock.recv(1, socket.MSG_PEEK) == b""
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            if gone:
                sock.close()
                closed += 1
            else:
                alive.append(sock)
        sockets = alive
    for sock in sockets:
        sock.close()
    result.put((label, {"opened": opened, "closed by the server": closed}))


def slowloris(port: int, count: int, source: str, stop: float, result: multiprocessing.Queue) -> None:
    """`count` connections each writing one byte of a query every half second; reopened when closed."""
    import dns.message
    wire = dns.message.make_query("www.example.org", "A").to_wire()
    frame = struct.pack("!H", len(wire)) + wire
    conns: list[list] = []
    closed = 0
    while time.monotonic() < stop:
        while len(conns) < count:
            try:
                conns.append([connect_from(source, port), 0])
            except OSError:
                break
        time.sleep(0.5)
        alive = []
        for conn in conns:
            sock, offset = conn
            try:
                sock.send(frame[offset % len(frame):offset % len(frame) + 1])
                conn[1] += 1
                alive.append(conn)
            except OSError:
                sock.close()
                closed += 1
        conns = alive
    for sock, _ in conns:
        sock.close()
    result.put(("slowloris connections", {"closed by the server": closed}))


def never_reads(port: int, source: str, stop: float, result: multiprocessing.Queue) -> None:
    """Two connections at a time pipelining queries for big.example.org TXT (~900 bytes) and reading nothing."""
    import dns.message
    wire = dns.message.make_query("big.example.org", "TXT").to_wire()
    frame = (struct.pack("!H", len(wire)) + wire) * 1000
    closed = 0
    while time.monotonic() < stop:
        socks = [connect_from(source, port) for _ in range(2)]
        for sock in socks:
            sock.settimeout(1)
        done = False
        while not done and time.monotonic() < stop:
            for sock in socks:
                try:
                    sock.sendall(frame)
                except socket.timeout:
                    pass  # the server stopped reading: backpressure
                except OSError:
                    done = True
        closed += 2 if done else 0
        for sock in socks:
            sock.close()
    result.put(("clients that never read", {"connections closed by the server": closed}))


def drain(sock: socket.socket) -> None:
    while True:
        try:
            sock.recv(65535)
        except OSError:
            return


def kernel_udp_drops() -> dict[str, int]:
    """The kernel's UDP counters (the whole machine: loopback's receivers are ours and the load generators) of
    datagrams dropped for a full receive or send buffer."""
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Udp:")]
    values = dict(zip(lines[0][1:], map(int, lines[1][1:])))
    return {name: values.get(name, 0) for name in ("RcvbufErrors", "SndbufErrors")}


def listener_udp_drops(port: int) -> int:
    """Datagrams the kernel dropped for a full receive buffer on the sockets bound to `port` (the listener's, one
    per relay thread), from the drops column of /proc/net/udp."""
    total = 0
    for line in Path("/proc/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port:
            total += int(fields[-1])
    return total


# --- the run ---------------------------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--warm-up", type=float, default=WARM_UP, help="seconds left out of the RSS verdict (30)")
    parser.add_argument("--binary", default=str(REPO / ".build-release" / "release" / "dnsgrpcd"))
    parser.add_argument("--without", default="", help="hostile clients left out, by function name, comma-separated "
                                                       "(malformed_udp,large_udp,grpc_oversized,grpc_cancel_flood,"
                                                       "idle_flood,slowloris,never_reads), to find which one does harm")
    args = parser.parse_args()
    duration = args.duration
    work = Path(tempfile.mkdtemp(prefix="dnsgrpcd-soak-"))
    p = {name: support.free_port() for name in ("dns", "dot", "grpc", "metrics", "knot")}
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # takes queries and never answers
    hole.bind(("127.0.0.1", 0))
    # It reads and discards them, so that its full buffer does not count in the kernel's drops.
    threading.Thread(target=drain, args=(hole,), daemon=True).start()
    knot_addr = f"127.0.0.1:{p['knot']}"
    conf = work / "soak.Corefile"
    conf.write_text(corefile(p, knot_addr, f"127.0.0.1:{hole.getsockname()[1]}"))

    knot = start_knot(work, [p["knot"]])
    daemon = support.Process("dnsgrpcd", [args.binary, "-conf", str(conf), "--log-level", "warning"],
                             work / "dnsgrpcd.log")
    results: multiprocessing.Queue = multiprocessing.Queue()
    children: list[multiprocessing.Process] = []
    perfs: dict[str, tuple[subprocess.Popen, Path]] = {}
    try:
        for port in (p["dns"], p["dot"], p["grpc"], p["metrics"]):
            daemon.wait_for_port("127.0.0.1", port, timeout=30)
        grpc_addr = f"127.0.0.1:{p['grpc']}"
        drops_before = kernel_udp_drops()
        started = time.monotonic()
        stop = started + duration
        for mode, port in (("udp", p["dns"]), ("tcp", p["dns"]), ("dot", p["dot"])):
            out = work / f"dnsperf-{mode}.txt"
            perfs[mode] = (start_dnsperf(port, mode, duration, out), out)
        hostile = [
            (grpc_load, (grpc_addr, duration, results)),
            (malformed_udp, (p["dns"], stop, results)),
            (large_udp, (p["dns"], stop, results)),
            (grpc_oversized, (grpc_addr, stop, results)),
            (grpc_cancel_flood, (grpc_addr, stop, results)),
            (idle_flood, (p["dns"], 1500, sources(2, 10), stop, results, "idle TCP connections")),
            (idle_flood, (p["dot"], 300, sources(12, 2), stop, results, "idle DoT connections (no handshake)")),
            (slowloris, (p["dns"], 200, "127.0.0.14", stop, results)),
            (never_reads, (p["dns"], "127.0.0.15", stop, results)),
        ]
        left_out = set(filter(None, args.without.split(",")))
        for target, target_args in hostile:
            if target.__name__ in left_out:
                continue
            child = multiprocessing.Process(target=target, args=target_args, daemon=True)
            child.start()
            children.append(child)

        print(f"soak: {duration:g} s; dnsgrpcd pid {daemon.pid}; logs in {work}")
        print(f"{'t (s)':>6} {'RSS (MiB)':>10}  event")
        samples: list[tuple[float, float]] = []
        killed_at = restarted = False
        next_sample = started
        while time.monotonic() < stop:
            now = time.monotonic() - started
            event = ""
            if not killed_at and now >= duration / 2:
                knot.stop()
                killed_at = True
                event = "upstream killed"
            elif killed_at and not restarted and now >= duration / 2 + 2:
                knot = start_knot(work, [p["knot"]])
                restarted = True
                event = "upstream restarted"
            if time.monotonic() >= next_sample or event:
                if not daemon.alive():
                    raise RuntimeError(f"dnsgrpcd exited during the soak\n{daemon.describe()}")
                rss = rss_kib(daemon.pid)[0] / 1024
                if not event:
                    samples.append((now, rss))
                    next_sample += SAMPLE_EVERY
                print(f"{now:6.1f} {rss:10.1f}  {event}", flush=True)
            time.sleep(0.2)

        for mode, (perf, _) in perfs.items():
            perf.wait(timeout=60)
        reports = []
        for child in children:
            child.join(timeout=30)
        while not results.empty():
            reports.append(results.get_nowait())
        if not daemon.alive():
            raise RuntimeError(f"dnsgrpcd exited during the soak\n{daemon.describe()}")
        metrics = support.scrape(f"127.0.0.1:{p['metrics']}")
        drops = {name: count - drops_before[name] for name, count in kernel_udp_drops().items()}
        drops["at the listener"] = listener_udp_drops(p["dns"])
        return report(samples, perfs, reports, metrics, drops, args.warm_up)
    finally:
        for child in children:
            if child.is_alive():
                child.kill()
        for perf, _ in perfs.values():
            if perf.poll() is None:
                perf.kill()
        daemon.stop(expect=None)
        knot.stop()
        hole.close()


# What the listeners counted, for the report: what they dropped, refused and closed.
LISTENER_METRICS = [
    "dnsgrpcd_listener_dropped_total", "dnsgrpcd_listener_formerr_total", "dnsgrpcd_listener_connections_closed_total",
    "dnsgrpcd_listener_idle_evictions_total", "dnsgrpcd_listener_slow_frames_total",
    "dnsgrpcd_listener_undrained_connections_total", "dnsgrpcd_tls_handshake_failures_total",
    "dnsgrpcd_grpc_calls_cancelled_total", "dnsgrpcd_grpc_calls_in_service",
]


def report(samples, perfs, reports, metrics, drops: dict[str, int], warm_up: float) -> int:
    print("\ngood loads (answers by rcode; lost: no answer at all within 10 s)")
    lost_total = 0
    for mode, (_, out) in perfs.items():
        result = dnsperf_result(out)
        lost_total += max(0, result["lost"])
        print(f"  {mode:5} sent {result['sent']:>8}  answered {result['answered']:>8}  lost {result['lost']:>5}  "
              f"{result['rcodes']}")
    good_grpc = dict(next((r for label, r in reports if label == "grpc"), {}))
    grpc_lost = sum(count for key, count in good_grpc.items() if key.startswith("lost:"))
    lost_total += grpc_lost
    print(f"  grpc  answered {sum(c for k, c in good_grpc.items() if not k.startswith('lost:')):>8}  "
          f"lost {grpc_lost:>5}  {good_grpc}")
    print("hostile clients")
    for label, result in reports:
        if label != "grpc":
            print(f"  {label}: {result}")

    print(f"the kernel dropped UDP datagrams for full buffers (any socket on the machine): {drops}")
    print("the listeners counted")
    for name in LISTENER_METRICS:
        print(f"  {name} {metrics.value(name):g}")

    steady = [rss for t, rss in samples if t >= warm_up]
    verdicts = []
    if steady:
        middle = statistics.median(steady)
        spread = max(abs(rss - middle) / middle for rss in steady)
        verdicts.append((spread <= 0.10, f"RSS after {warm_up:g} s within {spread:.1%} of its median "
                                         f"{middle:.1f} MiB (goal: 10%)"))
    # Queries in flight when the upstream dies are answered SERVFAIL within the forwarder's 5 s, so none may be lost.
    verdicts.append((lost_total == 0, f"{lost_total} good queries got no answer within 10 s (goal: 0)"))
    print("verdict")
    for ok, text in verdicts:
        print(f"  {'ok  ' if ok else 'FAIL'} {text}")
    return 0 if all(ok for ok, _ in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
