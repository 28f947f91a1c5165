#!/usr/bin/env python3
"""`make bench`: dnsgrpcd measured side by side with dnsdist (and a bare gRPC-core ceiling) in one run.

Every figure is the median of RUNS runs of DURATION seconds. dnsgrpcd and the peer run pinned to core 0
(`taskset -c 0`); the load generator and the authoritative upstream (knotd) share core 1. Latency percentiles
come from dnsperf's per-query log (-v). Traffic stays on 127.0.0.1.

    python3 bench/bench.py [--duration 5] [--runs 3] [--binary .build/release/dnsgrpcd]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "Tests" / "integration"))
import support  # noqa: E402

QUERIES = REPO / "bench" / "queries.txt"
CERTS = REPO / "certs"
SERVER_CORE = "0"
LOAD_CORE = "1"


@dataclass
class Figures:
    qps: float
    avg_ms: float
    p99_ms: float
    lost: int


@dataclass
class Row:
    scenario: str
    ours: list[Figures] = field(default_factory=list)
    peer: list[Figures] = field(default_factory=list)
    peer_name: str = ""
    note: str = ""

    def median(self, runs: list[Figures], attr: str) -> float:
        return statistics.median(getattr(f, attr) for f in runs) if runs else float("nan")


def run(argv: list[str], timeout: float) -> str:
    # Into a file, read afterwards: reading dnsperf's line per query through a pipe while it runs cost the load core
    # a fifth of its time (and the server's core, before the driver was pinned).
    with tempfile.TemporaryFile("w+") as out:
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, text=True, timeout=timeout)
        out.seek(0)
        text = out.read()
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{text[-4000:]}")
    return text


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def dnsperf(port: int, mode: str, duration: float, clients: int = 8, outstanding: int = 200) -> Figures:
    argv = ["taskset", "-c", LOAD_CORE, "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-m", mode,
            "-d", str(QUERIES), "-l", str(duration), "-c", str(clients), "-q", str(outstanding), "-v"]
    out = run(argv, timeout=duration + 30)
    latencies = [float(m.group(1)) for m in re.finditer(r"^> \S+ \S+ \S+ ([0-9.]+)$", out, re.M)]
    qps = float(re.search(r"Queries per second:\s+([0-9.]+)", out).group(1))
    avg = float(re.search(r"Average Latency \(s\):\s+([0-9.]+)", out).group(1))
    lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))
    return Figures(qps, avg * 1000, percentile(latencies, 99) * 1000, lost)


def grpc_body() -> bytes:
    import dns.message
    pb2 = support.load_dns_pb2()
    query = dns.message.make_query("www.example.org", "A")
    packet = pb2.DnsPacket(msg=query.to_wire()).SerializeToString()
    return b"\x00" + struct.pack("!I", len(packet)) + packet  # gRPC length-prefixed message


def h2load(port: int, duration: float, body: Path, clients: int = 8, streams: int = 100) -> Figures:
    argv = ["taskset", "-c", LOAD_CORE, "h2load", "-D", str(int(duration)), "-c", str(clients), "-m", str(streams),
            "-d", str(body), "-H", "content-type: application/grpc", "-H", "te: trailers",
            f"http://127.0.0.1:{port}/coredns.dns.DnsService/Query"]
    out = run(argv, timeout=duration + 60)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed", out)
    succeeded, failed = int(done.group(2)), int(done.group(3))
    rps = float(re.search(r"finished in [0-9.]+\w+, ([0-9.]+) req/s", out).group(1))
    rps *= succeeded / max(1, succeeded + failed)
    # "time for request:  min  max  mean  sd  +/- sd" (units vary: us, ms, s)
    line = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", out)
    mean = to_ms(line.group(3)) if line else float("nan")
    return Figures(rps, mean, float("nan"), failed)


def to_ms(text: str) -> float:
    for suffix, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float("nan")


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    return rss, hwm


class Server:
    """A pinned server process with its log; stopped with SIGTERM."""

    def __init__(self, name: str, argv: list[str], log: Path, wait: list[tuple[str, int]]):
        self.name = name
        self.log = log
        self.proc = support.Process(name, ["taskset", "-c", SERVER_CORE, *argv], log)
        for host, port in wait:
            self.proc.wait_for_port(host, port, timeout=30)
        time.sleep(0.3)
        pin_threads(self.pid, SERVER_CORE)

    @property
    def pid(self) -> int:
        # taskset execs the program, so the child's pid is the server's.
        return self.proc.popen.pid

    def stop(self) -> None:
        self.proc.stop(expect=None)


def pin_threads(pid: int, core: str) -> None:
    """Every thread of `pid` onto `core`. Threads inherit the mask taskset gave the process, but a program that
    sets its own workers' affinity overrides it: knotd binds UDP worker i to CPU i, so one of its workers ran on
    the server's core and took its time from whichever server was under test, but never from the gRPC ceiling."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), {int(core)})
        except ProcessLookupError:  # a thread that has just exited
            pass


def dnsgrpcd(name: str, binary: str, conf: Path, log: Path, wait: list[tuple[str, int]],
             threads: str = "1") -> Server:
    """dnsgrpcd serving `conf`, pinned like every server under test, logging warnings only."""
    return Server(name, [binary, "-conf", str(conf), "--log-level", "warning", "--threads", threads], log, wait)


def corefile(work: Path, name: str, text: str) -> Path:
    path = work / f"{name}.Corefile"
    path.write_text(text)
    return path


def ours_corefile(ports: dict[str, int], upstream: str, upstream_option: str) -> str:
    """dnsgrpcd's UDP/TCP, DoT and gRPC listeners forwarding to `upstream` (prefer_udp: TCP and DoT clients
    are forwarded over UDP, as dnsdist's UDP backend is), with one more forward option."""
    option = f"\n        {upstream_option}" if upstream_option else ""
    return f"""
dns://.:{ports['udp']} {{
    bind 127.0.0.1
    forward . {upstream} {{
        prefer_udp{option}
    }}
}}
tls://.:{ports['dot']} {{
    bind 127.0.0.1
    tls {CERTS / 'server.pem'} {CERTS / 'server-key.pem'}
    forward . {upstream} {{
        prefer_udp{option}
    }}
}}
grpc://.:{ports['grpc']} {{
    bind 127.0.0.1
    forward . {upstream} {{{option}
    }}
}}
"""


def dnsdist_conf(work: Path, udp_port: int, dot_port: int, upstream: str) -> Path:
    path = work / "dnsdist.conf"
    path.write_text(f"""
setSecurityPollSuffix("")
setLocal("127.0.0.1:{udp_port}")
addTLSLocal("127.0.0.1:{dot_port}", "{CERTS / 'server.pem'}", "{CERTS / 'server-key.pem'}")
newServer({{address="{upstream}", checkInterval=3600}})
-- no packet cache: every query is forwarded, as by dnsgrpcd
""")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--binary", default=str(REPO / ".build" / "release" / "dnsgrpcd"))
    parser.add_argument("--ceiling", default=str(REPO / ".build" / "release" / "grpc-ceiling"))
    args = parser.parse_args()
    if os.cpu_count() is None or os.cpu_count() < 2:
        print("bench: needs 2 cores (server and load generator pinned apart)", file=sys.stderr)
        return 1
    # The driver itself stays off the server's core: it parses dnsperf's logs and starts processes.
    os.sched_setaffinity(0, {int(LOAD_CORE)})
    support.generate_stubs()
    work = Path(tempfile.mkdtemp(prefix="dnsgrpcd-bench-"))
    started: list = []
    rows: list[Row] = []
    memory: dict[str, int] = {}
    try:
        knot_ports = [support.free_port() for _ in range(3)]
        knot = start_knot(work, knot_ports)
        started.append(knot)
        upstream = f"127.0.0.1:{knot_ports[0]}"
        direct = Row("knotd alone (upstream capacity)")
        for _ in range(args.runs):
            direct.ours.append(dnsperf(knot_ports[0], "udp", args.duration))
        rows.append(direct)

        p = {k: support.free_port() for k in ("udp", "dot", "grpc", "ddudp", "dddot", "chain_dns", "chain_grpc",
                                               "three", "ceiling")}
        ours_file = corefile(work, "ours", ours_corefile(p, upstream, ""))
        ours = dnsgrpcd("dnsgrpcd", args.binary, ours_file, work / "dnsgrpcd.log",
                        [("127.0.0.1", p["udp"]), ("127.0.0.1", p["grpc"])])
        started.append(ours)
        memory["idle RSS"] = rss_kib(ours.pid)[0]
        # The same listeners with `multiplex_udp` (dnsdist's upstream sockets), in a second process on the same
        # core; only one of the two is loaded at a time.
        mux_ports = {k: support.free_port() for k in ("udp", "dot", "grpc")}
        mux = dnsgrpcd("dnsgrpcd-mux", args.binary,
                       corefile(work, "mux", ours_corefile(mux_ports, upstream, "multiplex_udp")),
                       work / "dnsgrpcd-mux.log", [("127.0.0.1", mux_ports["udp"]), ("127.0.0.1", mux_ports["grpc"])])
        started.append(mux)
        memory["idle RSS, multiplex_udp"] = rss_kib(mux.pid)[0]
        peer = Server("dnsdist", ["dnsdist", "--supervised", "--disable-syslog", "-C",
                                  str(dnsdist_conf(work, p["ddudp"], p["dddot"], upstream))],
                      work / "dnsdist.log", [("127.0.0.1", p["ddudp"])])
        started.append(peer)

        for name, mode, listener, peer_port, note in [
            ("UDP in -> UDP out", "udp", "udp", p["ddudp"], ""),
            ("TCP in -> UDP out", "tcp", "udp", p["ddudp"], "dnsdist forwards TCP over TCP"),
            ("DoT in -> UDP out", "dot", "dot", p["dddot"], "dnsdist forwards DoT over TCP"),
        ]:
            row = Row(name, peer_name="dnsdist", note=note)
            mux_row = Row(f"{name}, multiplex_udp", peer=row.peer, peer_name="dnsdist (same runs)")
            for _ in range(args.runs):
                row.ours.append(dnsperf(p[listener], mode, args.duration))
                mux_row.ours.append(dnsperf(mux_ports[listener], mode, args.duration))
                row.peer.append(dnsperf(peer_port, mode, args.duration))
            rows += [row, mux_row]
            memory[f"peak RSS after {name}"] = rss_kib(ours.pid)[1]
            memory[f"peak RSS after {name}, multiplex_udp"] = rss_kib(mux.pid)[1]
        peer.stop()
        started.remove(peer)

        body = work / "query.grpc"
        body.write_bytes(grpc_body())
        ceiling = Server("grpc-ceiling", [args.ceiling, f"127.0.0.1:{p['ceiling']}"], work / "ceiling.log",
                         [("127.0.0.1", p["ceiling"])])
        started.append(ceiling)
        row = Row("gRPC in -> UDP out (h2load)", peer_name="gRPC-core ceiling",
                  note="target: >= 0.8x the ceiling; latency = mean time per request")
        mux_row = Row("gRPC in -> UDP out, multiplex_udp", peer=row.peer, peer_name="gRPC-core ceiling (same)")
        for _ in range(args.runs):
            row.ours.append(h2load(p["grpc"], args.duration, body))
            mux_row.ours.append(h2load(mux_ports["grpc"], args.duration, body))
            row.peer.append(h2load(p["ceiling"], args.duration, body))
        rows += [row, mux_row]
        ceiling.stop()
        started.remove(ceiling)
        for server, port, label in ((ours, p["grpc"], ""), (mux, mux_ports["grpc"], ", multiplex_udp")):
            heavy = h2load(port, args.duration, body, clients=100, streams=100)
            memory[f"peak RSS with 10,000 gRPC calls in flight{label}"] = rss_kib(server.pid)[1]
            rows.append(Row(f"gRPC in, 100 conns x 100 streams{label}", ours=[heavy], note="memory probe"))
            server.stop()
            started.remove(server)

        # 5. UDP -> gRPC -> UDP (two dnsgrpcd) against one dnsgrpcd UDP -> UDP.
        b_file = corefile(work, "chain-b", f"grpc://.:{p['chain_grpc']} {{\n bind 127.0.0.1\n forward . {upstream}\n}}\n")
        a_file = corefile(work, "chain-a", f"dns://.:{p['chain_dns']} {{\n bind 127.0.0.1\n grpc . 127.0.0.1:{p['chain_grpc']}\n}}\n")
        chain_b = dnsgrpcd("dnsgrpcd-B", args.binary, b_file, work / "chain-b.log", [("127.0.0.1", p["chain_grpc"])])
        started.append(chain_b)
        chain_a = dnsgrpcd("dnsgrpcd-A", args.binary, a_file, work / "chain-a.log", [("127.0.0.1", p["chain_dns"])])
        started.append(chain_a)
        row = Row("UDP -> gRPC -> UDP (2 daemons)", peer_name="one dnsgrpcd UDP -> UDP",
                  note="both daemons share core 0")
        single = dnsgrpcd("dnsgrpcd", args.binary, ours_file, work / "single.log", [("127.0.0.1", p["udp"])])
        started.append(single)
        for _ in range(args.runs):
            row.ours.append(dnsperf(p["chain_dns"], "udp", args.duration))
            row.peer.append(dnsperf(p["udp"], "udp", args.duration))
        rows.append(row)
        for server in (chain_a, chain_b, single):
            server.stop()
            started.remove(server)

        # 6. One upstream against three (the same knotd on three ports).
        three_file = corefile(work, "three", f"dns://.:{p['three']} {{\n bind 127.0.0.1\n forward . "
                              + " ".join(f"127.0.0.1:{port}" for port in knot_ports) + "\n}\n")
        single = dnsgrpcd("dnsgrpcd", args.binary, ours_file, work / "single2.log", [("127.0.0.1", p["udp"])])
        three = dnsgrpcd("dnsgrpcd-3", args.binary, three_file, work / "three.log", [("127.0.0.1", p["three"])])
        started += [single, three]
        row = Row("one upstream (ours) vs three (peer column)", peer_name="dnsgrpcd, 3 upstreams",
                  note="target: within 10%")
        for _ in range(args.runs):
            row.ours.append(dnsperf(p["udp"], "udp", args.duration))
            row.peer.append(dnsperf(p["three"], "udp", args.duration))
        rows.append(row)
    finally:
        for server in reversed(started):
            try:
                server.stop()
            except Exception as e:  # report and go on stopping the rest
                print(f"bench: stopping {getattr(server, 'name', server)}: {e}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)

    print_table(rows, memory, args)
    return 0


def start_knot(work: Path, ports: list[int]):
    """knotd listening on several ports (one server, so 'three upstreams' do not add capacity)."""
    conf = support.render_knot_conf(ports[0], work / "knot")
    extra = "".join(f"    listen: 127.0.0.1@{port}\n" for port in ports[1:])
    conf = conf.replace(f"    listen: 127.0.0.1@{ports[0]}\n", f"    listen: 127.0.0.1@{ports[0]}\n{extra}")
    path = work / "knot" / "knot.conf"
    path.write_text(conf)
    knotd = shutil.which("knotd") or "/usr/sbin/knotd"
    proc = support.Process("knotd", ["taskset", "-c", LOAD_CORE, knotd, "-c", str(path)], work / "knot" / "knotd.log")
    support.wait_for_dns("127.0.0.1", ports[0], support.ZONE, "SOA", proc=proc)
    pin_threads(proc.popen.pid, LOAD_CORE)

    class Knot:
        name = "knotd"

        def stop(self):
            proc.stop(expect=None)
    return Knot()


def print_table(rows: list[Row], memory: dict[str, int], args) -> None:
    print(f"\ndnsgrpcd benchmark — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"median of {args.runs} runs x {args.duration:g}s; server on core {SERVER_CORE}, load on core {LOAD_CORE}\n")
    header = f"{'scenario':48} {'ours qps':>10} {'avg ms':>7} {'p99 ms':>7} {'lost':>6}   " \
             f"{'peer':24} {'peer qps':>10} {'avg ms':>7} {'p99 ms':>7} {'ratio':>6}"
    print(header)
    print("-" * len(header))
    for row in rows:
        oq, pq = row.median(row.ours, "qps"), row.median(row.peer, "qps")
        line = (f"{row.scenario:48} {oq:10.0f} {row.median(row.ours, 'avg_ms'):7.3f} "
                f"{row.median(row.ours, 'p99_ms'):7.3f} {int(row.median(row.ours, 'lost')):6d}   ")
        if row.peer:
            line += (f"{row.peer_name:24} {pq:10.0f} {row.median(row.peer, 'avg_ms'):7.3f} "
                     f"{row.median(row.peer, 'p99_ms'):7.3f} {oq / pq:6.2f}")
        print(line + (f"   ({row.note})" if row.note else ""))
    print()
    for name, kib in memory.items():
        print(f"{name:58} {kib / 1024:8.1f} MiB")


if __name__ == "__main__":
    sys.exit(main())
