#!/usr/bin/env python3
"""`make bench`: dnsgrpcd measured side by side with its peers (dnsdist, a bare gRPC-core ceiling, and CoreDNS when
COREDNS=path is set) in one run.

Every figure is the median of RUNS runs of DURATION seconds; in each run ours and its peers are loaded one after
the other. dnsgrpcd (`--threads 1`, every scenario with the defaults: no `multiplex_udp` anywhere) and the peer run
pinned to core 0 (`taskset -c 0`); the load generator and the authoritative upstream (knotd) share core 1. Latency
percentiles come from dnsperf's per-query log (-v). Traffic stays on 127.0.0.1.

CPU per query: utime + stime of every thread of the server under test (/proc/PID/task/*/stat), read just before
and just after each load, divided by the answers the load generator reports (dnsperf's "Queries completed",
h2load's succeeded requests), in µs. Ratios are ours / peer, for qps and for CPU per query.

Scenarios (the Corefile of ours is also CoreDNS's, on other ports):
    knotd alone                     dnsperf straight at the upstream (its capacity, and its own CPU per query)
    UDP in -> UDP out               `forward . KNOT`                                     vs dnsdist
    production block                `errors`, `prometheus 127.0.0.1:PORT`, `forward . KNOT` vs dnsdist (bare)
    ratelimit on                    `ratelimit 1000000`, `forward . KNOT` (a rate no client reaches) vs the same off
    cache hits                      `cache 30`, `forward . KNOT`, warmed (8 names)       vs dnsdist + packet cache
    cache hits, every option        `cache 30 { success, denial, prefetch, serve_stale, servfail }` vs `cache 30`
    coalescing                      100 sockets ask one new name at once, 50 times: upstream queries vs client ones
    TCP in -> UDP out               `forward . KNOT { prefer_udp }`, dnsperf -m tcp      vs dnsdist
    DoT in -> UDP out               the same in a tls:// block, dnsperf -m dot          vs dnsdist's TLS frontend
    DoH in -> UDP out               the same in an https:// block, dnsperf -m doh      vs dnsdist's DoH frontend
    UDP in -> DoH out               `forward . https://DNSDIST` (dnsdist's DoH frontend asks knotd)
    gRPC in -> UDP out              grpc:// block, h2load                               vs grpc-ceiling
    UDP in -> gRPC out              `grpc . 127.0.0.1:P` to a second dnsgrpcd on core 1 vs CoreDNS (else no peer)
    one upstream vs three           `forward . K1` vs `forward . K1 K2 K3` (one knotd on three ports)
and RSS: idle, after each DNS load (VmHWM), and with 10,000 gRPC calls in flight.

About 5.5 minutes with the defaults (3 runs of 5 s), about 7 with COREDNS set.

    python3 bench/bench.py [--duration 5] [--runs 3] [--binary .build/release/dnsgrpcd] [--ceiling PATH]
    COREDNS=/path/to/coredns python3 bench/bench.py ...      (CoreDNS is never built or downloaded here)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "Tests" / "integration"))
import support  # noqa: E402

QUERIES = REPO / "bench" / "queries.txt"
CERTS = REPO / "certs"
SERVER_CORE = "0"
LOAD_CORE = "1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
NAN = float("nan")


@dataclass
class Figures:
    qps: float
    avg_ms: float
    p99_ms: float
    lost: int
    answered: int  # dnsperf's "Queries completed", h2load's succeeded requests
    cpu_us: float = NAN  # CPU of the server under test per answered query (see measured)


@dataclass
class Row:
    scenario: str
    ours: list[Figures] = field(default_factory=list)
    peer: list[Figures] = field(default_factory=list)
    peer_name: str = ""
    note: str = ""

    def median(self, runs: list[Figures], attr: str) -> float:
        return statistics.median(getattr(f, attr) for f in runs) if runs else NAN


def cpu_ticks(pid: int) -> int:
    """utime + stime, in clock ticks, of every thread of `pid` now: fields 14 and 15 of /proc/PID/task/*/stat.
    (A thread that exits between two readings takes its ticks with it.)"""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):  # a thread that has just exited
            continue
        # The name (field 2) may hold spaces and parentheses: count from the last ')'; field 3 is then index 0.
        fields = stat[stat.rindex(")") + 2:].split()
        total += int(fields[14 - 3]) + int(fields[15 - 3])
    return total


def measured(pid: int, load: Callable[[], Figures]) -> Figures:
    """Runs `load` and sets its cpu_us: the CPU `pid` used during it per answered query, in µs."""
    before = cpu_ticks(pid)
    figures = load()
    used = cpu_ticks(pid) - before
    figures.cpu_us = used / CLK_TCK * 1e6 / figures.answered if figures.answered else NAN
    return figures


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
        return NAN
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def dnsperf(port: int, mode: str, duration: float, clients: int = 8, outstanding: int = 200) -> Figures:
    argv = ["taskset", "-c", LOAD_CORE, "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-m", mode,
            "-d", str(QUERIES), "-l", f"{duration:g}", "-c", str(clients), "-q", str(outstanding), "-v"]
    out = run(argv, timeout=duration + 30)
    latencies = [float(m.group(1)) for m in re.finditer(r"^> \S+ \S+ \S+ ([0-9.]+)$", out, re.M)]
    qps = float(re.search(r"Queries per second:\s+([0-9.]+)", out).group(1))
    avg = float(re.search(r"Average Latency \(s\):\s+([0-9.]+)", out).group(1))
    lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))
    completed = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))
    return Figures(qps, avg * 1000, percentile(latencies, 99) * 1000, lost, completed)


def grpc_body() -> bytes:
    import dns.message
    pb2 = support.load_dns_pb2()
    query = dns.message.make_query("www.example.org", "A")
    packet = pb2.DnsPacket(msg=query.to_wire()).SerializeToString()
    return b"\x00" + struct.pack("!I", len(packet)) + packet  # gRPC length-prefixed message


def h2load(port: int, duration: float, body: Path, clients: int = 8, streams: int = 100) -> Figures:
    argv = ["taskset", "-c", LOAD_CORE, "h2load", "-D", str(max(1, int(duration))), "-c", str(clients),
            "-m", str(streams), "-d", str(body), "-H", "content-type: application/grpc", "-H", "te: trailers",
            f"http://127.0.0.1:{port}/coredns.dns.DnsService/Query"]
    out = run(argv, timeout=duration + 60)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed", out)
    succeeded, failed = int(done.group(2)), int(done.group(3))
    rps = float(re.search(r"finished in [0-9.]+\w+, ([0-9.]+) req/s", out).group(1))
    rps *= succeeded / max(1, succeeded + failed)
    # "time for request:  min  max  mean  sd  +/- sd" (units vary: us, ms, s)
    line = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", out)
    mean = to_ms(line.group(3)) if line else NAN
    return Figures(rps, mean, NAN, failed, succeeded)


def to_ms(text: str) -> float:
    for suffix, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return NAN


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
    return rss, hwm


class Server:
    """A pinned server process with its log; stopped with SIGTERM."""

    def __init__(self, name: str, argv: list[str], log: Path, wait: list[tuple[str, int]],
                 core: str = SERVER_CORE):
        self.name = name
        self.log = log
        self.proc = support.Process(name, ["taskset", "-c", core, *argv], log)
        try:
            for host, port in wait:
                self.proc.wait_for_port(host, port, timeout=30)
            time.sleep(0.3)
            pin_threads(self.pid, core)
        except BaseException:
            self.proc.kill()
            raise

    @property
    def pid(self) -> int:
        # taskset execs the program, so the child's pid is the server's.
        return self.proc.popen.pid

    def stop(self) -> None:
        self.proc.stop(expect=None)


class Servers:
    """The servers started for one part of the run, stopped (last first) when it ends, whatever happened."""

    def __init__(self):
        self.servers: list = []

    def add(self, server):
        """Keeps `server` (None: nothing) to stop at the end; returns it."""
        if server is not None:
            self.servers.append(server)
        return server

    def stop(self, *servers) -> None:
        """Stops these (None: nothing) now rather than at the end."""
        for server in servers:
            if server is not None and server in self.servers:
                self.servers.remove(server)
                server.stop()

    def __enter__(self) -> "Servers":
        return self

    def __exit__(self, *exc) -> None:
        for server in reversed(self.servers):
            try:
                server.stop()
            except Exception as e:  # report and go on stopping the rest
                print(f"bench: stopping {getattr(server, 'name', server)}: {e}", file=sys.stderr)
        self.servers.clear()


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
             threads: str = "1", core: str = SERVER_CORE) -> Server:
    """dnsgrpcd serving `conf`, pinned like every server under test (or to `core`), logging warnings only."""
    return Server(name, [binary, "-conf", str(conf), "--log-level", "warning", "--threads", threads], log, wait,
                  core)


def corefile(work: Path, name: str, text: str) -> Path:
    path = work / f"{name}.Corefile"
    path.write_text(text)
    return path


def ours_corefile(ports: dict[str, int], upstream: str) -> str:
    """For compare.py and profile.py: dnsgrpcd's UDP/TCP, DoT and gRPC listeners forwarding to `upstream`
    (prefer_udp: TCP and DoT clients are forwarded over UDP, as dnsdist's UDP backend is; bench.py uses
    main_corefile)."""
    return f"""
dns://.:{ports['udp']} {{
    bind 127.0.0.1
    forward . {upstream} {{
        prefer_udp
    }}
}}
tls://.:{ports['dot']} {{
    bind 127.0.0.1
    tls {CERTS / 'server.pem'} {CERTS / 'server-key.pem'}
    forward . {upstream} {{
        prefer_udp
    }}
}}
grpc://.:{ports['grpc']} {{
    bind 127.0.0.1
    forward . {upstream}
}}
"""


def main_corefile(p: dict[str, int], upstream: str) -> str:
    """The listeners measured one at a time in one process (the idle RSS is this one's): a bare forward for UDP, a
    forward with prefer_udp for TCP and DoT clients (forwarded over UDP, as dnsdist's UDP backend is; CoreDNS's
    default would forward them over TCP), and a gRPC listener."""
    return f"""
dns://.:{p['udp']} {{
    bind 127.0.0.1
    forward . {upstream}
}}
dns://.:{p['tcp']} {{
    bind 127.0.0.1
    forward . {upstream} {{
        prefer_udp
    }}
}}
tls://.:{p['dot']} {{
    bind 127.0.0.1
    tls {CERTS / 'server.pem'} {CERTS / 'server-key.pem'}
    forward . {upstream} {{
        prefer_udp
    }}
}}
grpc://.:{p['grpc']} {{
    bind 127.0.0.1
    forward . {upstream}
}}
https://.:{p['doh']} {{
    bind 127.0.0.1
    tls {CERTS / 'server.pem'} {CERTS / 'server-key.pem'}
    forward . {upstream} {{
        prefer_udp
    }}
}}
"""


def production_corefile(port: int, metrics_port: int, upstream: str) -> str:
    return f"""
dns://.:{port} {{
    bind 127.0.0.1
    errors
    prometheus 127.0.0.1:{metrics_port}
    forward . {upstream}
}}
"""


def cache_corefile(port: int, upstream: str) -> str:
    return f"dns://.:{port} {{\n    bind 127.0.0.1\n    cache 30\n    forward . {upstream}\n}}\n"


# Every option of CoreDNS's cache on: its hits must cost no more than 10% over `cache 30`'s (issue 18).
CACHE_OPTIONS = """cache 30 {
        success 9984 30 5
        denial 9984 5 5
        prefetch 10 1m 10%
        serve_stale 1h immediate
        servfail 5s
    }"""


def cache_options_corefile(port: int, upstream: str) -> str:
    return f"dns://.:{port} {{\n    bind 127.0.0.1\n    {CACHE_OPTIONS}\n    forward . {upstream}\n}}\n"


def cache_metrics_corefile(port: int, metrics_port: int, upstream: str) -> str:
    return (f"dns://.:{port} {{\n    bind 127.0.0.1\n    cache 30\n    forward . {upstream}\n"
            f"    prometheus 127.0.0.1:{metrics_port}\n}}\n")


def ratelimit_corefile(port: int, upstream: str) -> str:
    """The UDP scenario's block with a rate limit dnsperf never reaches: what the check costs a query (issue 20:
    at most 5% more CPU per query than the same block without it)."""
    return f"dns://.:{port} {{\n    bind 127.0.0.1\n    ratelimit 1000000\n    forward . {upstream}\n}}\n"


def forward_corefile(port: int, upstreams: list[str], options: list[str] | None = None) -> str:
    block = " {\n" + "".join(f"        {o}\n" for o in options) + "    }" if options else ""
    return f"dns://.:{port} {{\n    bind 127.0.0.1\n    forward . {' '.join(upstreams)}{block}\n}}\n"


def grpc_server_corefile(port: int, upstream: str) -> str:
    # The key's host is the zone (CoreDNS's rule), so the address goes in `bind`.
    return f"grpc://.:{port} {{\n    bind 127.0.0.1\n    forward . {upstream}\n}}\n"


def grpc_client_corefile(port: int, grpc_port: int) -> str:
    return f".:{port} {{\n    bind 127.0.0.1\n    grpc . 127.0.0.1:{grpc_port}\n}}\n"


def dnsdist_conf(work: Path, name: str, udp_port: int, dot_port: int, upstream: str, cache: bool,
                 doh_port: int | None = None) -> Path:
    path = work / f"{name}.conf"
    cache_lines = ('pc = newPacketCache(10000)\ngetPool(""):setCache(pc)\n' if cache else
                   "-- no packet cache: every query is forwarded, as by dnsgrpcd without `cache`\n")
    cert, key = CERTS / "server.pem", CERTS / "server-key.pem"
    doh_line = f'addDOHLocal("127.0.0.1:{doh_port}", "{cert}", "{key}", "/dns-query")' if doh_port else ""
    path.write_text(f"""
setSecurityPollSuffix("")
setLocal("127.0.0.1:{udp_port}")
addTLSLocal("127.0.0.1:{dot_port}", "{CERTS / 'server.pem'}", "{CERTS / 'server-key.pem'}")
{doh_line}
newServer({{address="{upstream}", checkInterval=3600}})
{cache_lines}""")
    return path


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    line = text[0] if text else type(error).__name__
    return line if len(line) <= 110 else line[:107] + "..."


class Bench:
    """One run of the benchmark: the scenarios in order, each appending its rows (and RSS figures)."""

    def __init__(self, args, work: Path, upstream: str, knot_ports: list[int], coredns: str | None):
        self.args = args
        self.work = work
        self.upstream = upstream
        self.knot_ports = knot_ports
        self.coredns = coredns
        self.rows: list[Row] = []
        self.memory: dict[str, int] = {}
        self.facts: list[str] = []

    # --- helpers -------------------------------------------------------------------------------------------------

    def runs(self) -> range:
        return range(self.args.runs)

    def dnsperf(self, server, port: int, mode: str = "udp") -> Figures:
        return measured(server.pid, lambda: dnsperf(port, mode, self.args.duration))

    def h2load(self, server, port: int, body: Path, clients: int = 8, streams: int = 100) -> Figures:
        return measured(server.pid, lambda: h2load(port, self.args.duration, body, clients, streams))

    def dnsgrpcd(self, name: str, text: str, wait: list[int], core: str = SERVER_CORE) -> Server:
        """dnsgrpcd serving `text`, pinned like every server under test, logging warnings only."""
        return dnsgrpcd(name, self.args.binary, corefile(self.work, name, text), self.work / f"{name}.log",
                        [("127.0.0.1", port) for port in wait], core=core)

    def dnsdist(self, name: str, ports: dict[str, int], cache: bool, core: str = SERVER_CORE) -> Server:
        conf = dnsdist_conf(self.work, name, ports["udp"], ports["dot"], self.upstream, cache, ports.get("doh"))
        return Server(name, ["dnsdist", "--supervised", "--disable-syslog", "-C", str(conf)],
                      self.work / f"{name}.log", [("127.0.0.1", ports["udp"])], core=core)

    def start_coredns(self, name: str, text: str, wait: list[int]) -> tuple[Server | None, str]:
        """CoreDNS on the same Corefile (other ports), or None and why not; never fatal to the scenario."""
        if not self.coredns:
            return None, ""
        conf = corefile(self.work, name, text)
        try:
            return Server(name, [self.coredns, "-conf", str(conf)], self.work / f"{name}.log",
                          [("127.0.0.1", port) for port in wait]), ""
        except Exception as e:
            print(f"bench: {name} did not start: {e}", file=sys.stderr)
            return None, f"CoreDNS not run: {first_line(e)}"

    def coredns_row(self, ours: Row, failure: str) -> Row | None:
        """The extra row of a scenario against CoreDNS: ours are the same runs as in the row above."""
        if not self.coredns:
            return None
        return Row(ours.scenario, ours=ours.ours, peer_name="CoreDNS, same Corefile", note=failure)

    def ports(self, *names: str) -> dict[str, int]:
        return {name: support.free_port() for name in names}

    def scenario(self, names: list[str], body: Callable[[], None]) -> None:
        """Runs one part of the benchmark (with --only, only a part one of whose scenario names contains that text);
        if it fails, its scenarios not yet reported get a row saying why."""
        if self.args.only and not any(self.args.only in name for name in names):
            return
        try:
            body()
        except Exception as e:
            traceback.print_exc()
            done = {row.scenario for row in self.rows}
            for name in names:
                if name not in done:
                    self.rows.append(Row(name, note=f"not run: {first_line(e)}"))

    def add(self, *rows: Row | None) -> None:
        self.rows += [row for row in rows if row is not None]

    # --- the scenarios -------------------------------------------------------------------------------------------

    def knot_alone(self, knot) -> None:
        row = Row("knotd alone (upstream capacity)", note=f"knotd on core {LOAD_CORE} with the load")
        for _ in self.runs():
            row.ours.append(measured(knot.pid, lambda: dnsperf(self.knot_ports[0], "udp", self.args.duration)))
        self.add(row)

    def main_listeners(self) -> None:
        """UDP, the production block, TCP and DoT against dnsdist without a cache, then gRPC against the ceiling and
        the memory probe: one dnsgrpcd process for all but the production block (its idle RSS is the one reported),
        loaded one listener at a time."""
        with Servers() as servers:
            p = self.ports("udp", "tcp", "dot", "grpc", "doh")
            ours = servers.add(self.dnsgrpcd("dnsgrpcd", main_corefile(p, self.upstream), [p["udp"], p["grpc"]]))
            self.memory["idle RSS"] = rss_kib(ours.pid)[0]
            pp = self.ports("udp", "metrics")
            prod = servers.add(self.dnsgrpcd("dnsgrpcd-prod", production_corefile(pp["udp"], pp["metrics"],
                                                                                  self.upstream), [pp["udp"]]))
            dd = self.ports("udp", "dot", "doh")
            peer = servers.add(self.dnsdist("dnsdist", dd, cache=False))
            cp = self.ports("udp", "tcp", "dot", "grpc", "doh")
            core, core_failure = self.start_coredns("coredns", main_corefile(cp, self.upstream),
                                                    [cp["udp"], cp["grpc"]])
            servers.add(core)
            cpp = self.ports("udp", "metrics")
            cprod, cprod_failure = self.start_coredns(
                "coredns-prod", production_corefile(cpp["udp"], cpp["metrics"], self.upstream), [cpp["udp"]])
            servers.add(cprod)

            # UDP and the production block in the same runs, against the same dnsdist figures.
            udp = Row("UDP in -> UDP out", peer_name="dnsdist", note="forward . KNOT")
            prod_row = Row("UDP in -> UDP out, production block", peer=udp.peer, peer_name="dnsdist (same runs)",
                           note="errors, prometheus, forward; dnsdist bare")
            udp_core, prod_core = self.coredns_row(udp, core_failure), self.coredns_row(prod_row, cprod_failure)
            for _ in self.runs():
                udp.ours.append(self.dnsperf(ours, p["udp"]))
                prod_row.ours.append(self.dnsperf(prod, pp["udp"]))
                udp.peer.append(self.dnsperf(peer, dd["udp"]))
                if core:
                    udp_core.peer.append(self.dnsperf(core, cp["udp"]))
                if cprod:
                    prod_core.peer.append(self.dnsperf(cprod, cpp["udp"]))
            self.add(udp, udp_core, prod_row, prod_core)
            self.memory["peak RSS after UDP in -> UDP out"] = rss_kib(ours.pid)[1]
            self.memory["peak RSS after UDP in -> UDP out, production block"] = rss_kib(prod.pid)[1]
            servers.stop(prod, cprod)

            for name, mode, key, dd_port, note in [
                ("TCP in -> UDP out", "tcp", "tcp", dd["udp"], "dnsdist forwards TCP over TCP"),
                ("DoT in -> UDP out", "dot", "dot", dd["dot"], "dnsdist forwards DoT over TCP"),
                ("DoH in -> UDP out", "doh", "doh", dd["doh"], "dnsperf -m doh (HTTP/2); target >= 1.0x dnsdist"),
            ]:
                row = Row(name, peer_name="dnsdist", note=note)
                extra = self.coredns_row(row, core_failure)
                for _ in self.runs():
                    row.ours.append(self.dnsperf(ours, p[key], mode))
                    row.peer.append(self.dnsperf(peer, dd_port, mode))
                    if core:
                        extra.peer.append(self.dnsperf(core, cp[key], mode))
                self.add(row, extra)
                self.memory[f"peak RSS after {name}"] = rss_kib(ours.pid)[1]
            servers.stop(peer)

            body = self.work / "query.grpc"
            body.write_bytes(grpc_body())
            ceiling, cport = None, support.free_port()
            note = "target: >= 0.8x the ceiling; latency = mean time per request"
            if not (os.path.isfile(self.args.ceiling) and os.access(self.args.ceiling, os.X_OK)):
                note = f"no peer: no grpc-ceiling binary at {self.args.ceiling}; latency = mean time per request"
            else:
                try:
                    ceiling = servers.add(Server("grpc-ceiling", [self.args.ceiling, f"127.0.0.1:{cport}"],
                                                 self.work / "ceiling.log", [("127.0.0.1", cport)]))
                except Exception as e:
                    print(f"bench: grpc-ceiling did not start: {e}", file=sys.stderr)
                    note = f"no peer: grpc-ceiling did not start ({first_line(e)}); latency = mean time per request"
            row = Row("gRPC in -> UDP out (h2load)", peer_name="gRPC-core ceiling" if ceiling else "", note=note)
            extra = self.coredns_row(row, core_failure)
            if core:
                extra.note = "latency = mean time per request"
            for _ in self.runs():
                row.ours.append(self.h2load(ours, p["grpc"], body))
                if ceiling:
                    row.peer.append(self.h2load(ceiling, cport, body))
                if core:
                    extra.peer.append(self.h2load(core, cp["grpc"], body))
            self.add(row, extra)
            servers.stop(ceiling, core)
            heavy = self.h2load(ours, p["grpc"], body, clients=100, streams=100)
            self.memory["peak RSS with 10,000 gRPC calls in flight"] = rss_kib(ours.pid)[1]
            self.add(Row("gRPC in, 100 conns x 100 streams", ours=[heavy], note="memory probe"))

    def doh_out(self) -> None:
        """Ours forwards UDP clients over DoH to dnsdist's DoH frontend (pinned with the load on core 1), which asks
        knotd: the cost of the DoH client side, with dnsdist's plain UDP in -> UDP out as the yardstick."""
        with Servers() as servers:
            relay_ports = self.ports("udp", "dot", "doh")
            servers.add(self.dnsdist("dnsdist-doh-relay", relay_ports, cache=False, core=LOAD_CORE))
            port = support.free_port()
            text = (f"dns://.:{port} {{\n    bind 127.0.0.1\n    forward . https://127.0.0.1:{relay_ports['doh']}"
                    f"#localhost {{\n        tls {CERTS / 'ca.pem'}\n    }}\n}}\n")
            ours = servers.add(self.dnsgrpcd("dnsgrpcd-doh-out", text, [port]))
            dnsperf(port, "udp", 1)  # the HTTP/2 connection is up before the runs
            row = Row("UDP in -> DoH out (dnsdist's DoH -> knotd)", note="one HTTP/2 connection, a stream per query")
            for _ in self.runs():
                row.ours.append(self.dnsperf(ours, port))
            self.add(row)

    def cache_hits(self) -> None:
        with Servers() as servers:
            port = support.free_port()
            ours = servers.add(self.dnsgrpcd("dnsgrpcd-cache", cache_corefile(port, self.upstream), [port]))
            dd = self.ports("udp", "dot")
            peer = servers.add(self.dnsdist("dnsdist-cache", dd, cache=True))
            cport = support.free_port()
            core, failure = self.start_coredns("coredns-cache", cache_corefile(cport, self.upstream), [cport])
            servers.add(core)
            # Warm every cache: queries.txt has 8 names, so from then on nearly every query is a hit (`cache 30`
            # lets each name miss once in 30 s).
            for server, warm_port in ((ours, port), (peer, dd["udp"]), (core, cport)):
                if server:
                    dnsperf(warm_port, "udp", 1)
            row = Row("cache hits (UDP)", peer_name="dnsdist + packet cache", note="cache 30, forward; warmed")
            extra = self.coredns_row(row, failure)
            for _ in self.runs():
                row.ours.append(self.dnsperf(ours, port))
                row.peer.append(self.dnsperf(peer, dd["udp"]))
                if core:
                    extra.peer.append(self.dnsperf(core, cport))
            self.add(row, extra)
            self.memory["peak RSS after cache hits"] = rss_kib(ours.pid)[1]

    def cache_options(self) -> None:
        """The same warmed hits with every cache option on, against plain `cache 30` in the same runs."""
        with Servers() as servers:
            plain_port, options_port = support.free_port(), support.free_port()
            plain = servers.add(self.dnsgrpcd("dnsgrpcd-cache30", cache_corefile(plain_port, self.upstream),
                                              [plain_port]))
            options = servers.add(self.dnsgrpcd("dnsgrpcd-cache-options",
                                                cache_options_corefile(options_port, self.upstream), [options_port]))
            for warm_port in (plain_port, options_port):
                dnsperf(warm_port, "udp", 1)
            row = Row("cache hits, every cache option", peer_name="dnsgrpcd, cache 30",
                      note="success, denial, prefetch, serve_stale, servfail")
            for _ in self.runs():
                row.ours.append(self.dnsperf(options, options_port))
                row.peer.append(self.dnsperf(plain, plain_port))
            self.add(row)

    def rate_limit(self) -> None:
        """`forward . KNOT` with `ratelimit` on (at a rate no client reaches) against the same block without it, in
        the same runs: the peer column is ours with the rate limit off."""
        with Servers() as servers:
            off_port, on_port = support.free_port(), support.free_port()
            off = servers.add(self.dnsgrpcd("dnsgrpcd-ratelimit-off", forward_corefile(off_port, [self.upstream]),
                                            [off_port]))
            on = servers.add(self.dnsgrpcd("dnsgrpcd-ratelimit-on", ratelimit_corefile(on_port, self.upstream),
                                           [on_port]))
            row = Row("UDP in -> UDP out, ratelimit on", peer_name="dnsgrpcd, ratelimit off",
                      note="ratelimit 1000000, never reached; target: CPU/q <= 1.05x off")
            for _ in self.runs():
                row.ours.append(self.dnsperf(on, on_port))
                row.peer.append(self.dnsperf(off, off_port))
            self.add(row)

    def coalescing(self, rounds: int = 50, clients: int = 100) -> None:
        """`clients` sockets ask one new name at the same moment, `rounds` times: how many queries reach the
        upstream (identical misses in flight share one; later ones are cache hits)."""
        import dns.message
        import selectors
        import socket
        with Servers() as servers:
            port, metrics_port = support.free_port(), support.free_port()
            servers.add(self.dnsgrpcd("dnsgrpcd-coalescing", cache_metrics_corefile(port, metrics_port,
                                                                                   self.upstream), [port]))
            socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(clients)]
            selector = selectors.DefaultSelector()
            for sock in socks:
                sock.setblocking(False)
                selector.register(sock, selectors.EVENT_READ)
            answered = 0
            try:
                for round_ in range(rounds):
                    wire = bytearray(dns.message.make_query(f"same-{round_}.example.org.", "A").to_wire())
                    for index, sock in enumerate(socks):
                        wire[0:2] = index.to_bytes(2, "big")
                        sock.sendto(bytes(wire), ("127.0.0.1", port))
                    waiting, deadline = clients, time.monotonic() + 5
                    while waiting and time.monotonic() < deadline:
                        for key, _ in selector.select(timeout=0.5):
                            key.fileobj.recv(4096)
                            waiting -= 1
                            answered += 1
            finally:
                for sock in socks:
                    sock.close()
            m = support.scrape(f"127.0.0.1:{metrics_port}")
            asked = int(m.value("coredns_dns_requests_total"))
            upstream = int(m.value("coredns_forward_requests_total"))
            misses = int(m.value("coredns_cache_misses_total"))
            self.facts.append(
                f"coalescing: {asked} client queries ({rounds} names, {clients} clients at once each), {answered} "
                f"answered; {upstream} upstream queries; {misses - upstream} misses waited for another's reply, "
                f"{asked - misses} were cache hits")

    def udp_to_grpc(self) -> None:
        """The measured dnsgrpcd (core 0) forwards over gRPC to a second dnsgrpcd, pinned with the load on core 1."""
        with Servers() as servers:
            g = support.free_port()
            server_b = servers.add(self.dnsgrpcd("dnsgrpcd-grpc-server", grpc_server_corefile(g, self.upstream),
                                                 [g], core=LOAD_CORE))
            port = support.free_port()
            ours = servers.add(self.dnsgrpcd("dnsgrpcd-grpc-client", grpc_client_corefile(port, g), [port]))
            cport = support.free_port()
            core, failure = self.start_coredns("coredns-grpc-client", grpc_client_corefile(cport, g), [cport])
            servers.add(core)
            if core:
                row = Row("UDP in -> gRPC out (2nd dnsgrpcd)", peer_name="CoreDNS, same Corefile")
            else:
                row = Row("UDP in -> gRPC out (2nd dnsgrpcd)",
                          note=failure or "no peer: COREDNS not set")
            b_cpu: list[float] = []
            for _ in self.runs():
                before = cpu_ticks(server_b.pid)
                figures = self.dnsperf(ours, port)
                b_cpu.append((cpu_ticks(server_b.pid) - before) / CLK_TCK * 1e6 / max(1, figures.answered))
                row.ours.append(figures)
                if core:
                    row.peer.append(self.dnsperf(core, cport))
            b_note = f"the gRPC server on core {LOAD_CORE}: {statistics.median(b_cpu):.1f} µs/q"
            row.note = f"{row.note}; {b_note}" if row.note else b_note
            self.add(row)

    def one_vs_three(self) -> None:
        with Servers() as servers:
            one, three = support.free_port(), support.free_port()
            knots = [f"127.0.0.1:{port}" for port in self.knot_ports]
            single = servers.add(self.dnsgrpcd("dnsgrpcd-1up", forward_corefile(one, knots[:1]), [one]))
            triple = servers.add(self.dnsgrpcd("dnsgrpcd-3up", forward_corefile(three, knots), [three]))
            row = Row("one upstream (ours) vs three (peer column)", peer_name="dnsgrpcd, 3 upstreams",
                      note="target: within 10%")
            for _ in self.runs():
                row.ours.append(self.dnsperf(single, one))
                row.peer.append(self.dnsperf(triple, three))
            self.add(row)

    def option_costs(self) -> None:
        """Issue 20's options against the same block without them, in one pair of processes each: the ratio of CPU
        per query is the option's cost."""
        knots = [f"127.0.0.1:{port}" for port in self.knot_ports]
        for name, options, baseline, upstreams, note in [
            ("client_subnet on (ours) vs off (peer column)", ["client_subnet"], [], knots[:1],
             "target: within 5% CPU per query"),
            ("least_outstanding (ours) vs random (peer column)", ["policy least_outstanding"], [], knots[:2],
             "two upstreams; target: within 2% CPU per query"),
        ]:
            with Servers() as servers:
                on, off = support.free_port(), support.free_port()
                with_option = servers.add(self.dnsgrpcd("dnsgrpcd-option", forward_corefile(on, upstreams, options),
                                                        [on]))
                without = servers.add(self.dnsgrpcd("dnsgrpcd-baseline", forward_corefile(off, upstreams, baseline),
                                                    [off]))
                row = Row(name, peer_name="the same block without it", note=note)
                for _ in self.runs():
                    row.ours.append(self.dnsperf(with_option, on))
                    row.peer.append(self.dnsperf(without, off))
                self.add(row)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="", help="run only the scenarios whose name contains this text")
    parser.add_argument("--binary", default=str(REPO / ".build" / "release" / "dnsgrpcd"))
    parser.add_argument("--ceiling", default=str(REPO / ".build" / "release" / "grpc-ceiling"))
    args = parser.parse_args()
    if os.cpu_count() is None or os.cpu_count() < 2:
        print("bench: needs 2 cores (server and load generator pinned apart)", file=sys.stderr)
        return 1
    coredns_env = os.environ.get("COREDNS", "")
    coredns = coredns_env if coredns_env and os.path.isfile(coredns_env) and os.access(coredns_env, os.X_OK) else None
    coredns_status = coredns or "not run (COREDNS=path adds it)"
    if coredns_env and not coredns:
        coredns_status = f"not run (COREDNS={coredns_env} is not an executable file)"
        print(f"bench: {coredns_status}", file=sys.stderr)
    # The driver itself stays off the server's core: it parses dnsperf's logs and starts processes.
    os.sched_setaffinity(0, {int(LOAD_CORE)})
    support.generate_stubs()
    work = Path(tempfile.mkdtemp(prefix="dnsgrpcd-bench-"))
    try:
        with Servers() as servers:
            knot_ports = [support.free_port() for _ in range(3)]
            knot = servers.add(start_knot(work, knot_ports))
            bench = Bench(args, work, f"127.0.0.1:{knot_ports[0]}", knot_ports, coredns)
            bench.scenario(["knotd alone (upstream capacity)"], lambda: bench.knot_alone(knot))
            bench.scenario(["UDP in -> UDP out", "UDP in -> UDP out, production block", "TCP in -> UDP out",
                            "DoT in -> UDP out", "DoH in -> UDP out", "gRPC in -> UDP out (h2load)"],
                           bench.main_listeners)
            bench.scenario(["UDP in -> UDP out, ratelimit on"], bench.rate_limit)
            bench.scenario(["UDP in -> DoH out (dnsdist's DoH -> knotd)"], bench.doh_out)
            bench.scenario(["cache hits (UDP)"], bench.cache_hits)
            bench.scenario(["cache hits, every cache option"], bench.cache_options)
            bench.scenario([], bench.coalescing)
            bench.scenario(["UDP in -> gRPC out (2nd dnsgrpcd)"], bench.udp_to_grpc)
            bench.scenario(["one upstream (ours) vs three (peer column)"], bench.one_vs_three)
            bench.scenario(["client_subnet on (ours) vs off (peer column)",
                            "least_outstanding (ours) vs random (peer column)"], bench.option_costs)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print_table(bench.rows, bench.memory, bench.facts, args, coredns_status)
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
    try:
        support.wait_for_dns("127.0.0.1", ports[0], support.ZONE, "SOA", proc=proc)
    except BaseException:
        proc.kill()
        raise
    pin_threads(proc.popen.pid, LOAD_CORE)

    class Knot:
        name = "knotd"
        pid = proc.popen.pid

        def stop(self):
            proc.stop(expect=None)
    return Knot()


def ratio(ours: float, peer: float) -> float:
    """ours / peer, NaN when the peer answered nothing (a table with a hole, not a crash that loses every row)."""
    return ours / peer if peer else NAN


def print_table(rows: list[Row], memory: dict[str, int], facts: list[str], args, coredns_status: str) -> None:
    print(f"\ndnsgrpcd benchmark — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
          f"median of {args.runs} runs x {args.duration:g}s; server on core {SERVER_CORE}, load on core {LOAD_CORE}")
    print(f"µs/q: the server's CPU (utime+stime of its threads) per answered query; qps x and cpu x: ours / peer; "
          f"CoreDNS: {coredns_status}\n")
    header = (f"{'scenario':42} {'ours qps':>9} {'avg ms':>8} {'p99 ms':>8} {'lost':>5} {'µs/q':>6}   "
              f"{'peer':24} {'peer qps':>9} {'avg ms':>8} {'p99 ms':>8} {'µs/q':>6} {'qps x':>6} {'cpu x':>6}")
    print(header)
    print("-" * len(header))
    for row in rows:
        if not row.ours:
            print(f"{row.scenario:42} ({row.note})")
            continue
        oq, pq = row.median(row.ours, "qps"), row.median(row.peer, "qps")
        oc, pc = row.median(row.ours, "cpu_us"), row.median(row.peer, "cpu_us")
        line = (f"{row.scenario:42} {oq:9.0f} {row.median(row.ours, 'avg_ms'):8.3f} "
                f"{row.median(row.ours, 'p99_ms'):8.3f} {row.median(row.ours, 'lost'):5.0f} {oc:6.1f}   ")
        if row.peer:
            line += (f"{row.peer_name:24} {pq:9.0f} {row.median(row.peer, 'avg_ms'):8.3f} "
                     f"{row.median(row.peer, 'p99_ms'):8.3f} {pc:6.1f} {ratio(oq, pq):6.2f} {ratio(oc, pc):6.2f}")
        elif row.peer_name:
            line += f"{row.peer_name:24} {'not run':>9}"
        else:
            line += " " * 24
        print(line.rstrip() + (f"   ({row.note})" if row.note else ""))
    print()
    for name, kib in memory.items():
        print(f"{name:58} {kib / 1024:8.1f} MiB")
    for fact in facts:
        print(fact)


if __name__ == "__main__":
    sys.exit(main())
