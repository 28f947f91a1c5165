#!/usr/bin/env python3
"""Reload under load (issue 22): dnsperf at saturation against `forward . KNOT`, while the Corefile alternates between
two upstream sets and the process gets SIGHUP every INTERVAL seconds; prints dnsperf's lost queries and the reloads
done. The server is pinned to core 0, dnsperf and knotd to core 1, as in bench.py.

    python3 bench/reload.py --binary .build-release/release/dnsgrpcd [--duration 40] [--interval 4]
    (COREDNS=/path/to/coredns runs the same against CoreDNS, with SIGUSR1, which is how CoreDNS reloads)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

support = bench.support


def corefile(port: int, upstreams: list[str]) -> str:
    return f".:{port} {{\n    bind 127.0.0.1\n    forward . {' '.join(upstreams)}\n}}\n"


def run(name: str, argv: list[str], reload_signal: int, args, work: Path, knot_ports: list[int]) -> None:
    port = support.free_port()
    sets = [[f"127.0.0.1:{knot_ports[0]}"], [f"127.0.0.1:{p}" for p in knot_ports[1:]]]
    path = work / f"{name}.Corefile"
    path.write_text(corefile(port, sets[0]))
    server = bench.Server(name, [*argv, "-conf", str(path)], work / f"{name}.log", [("127.0.0.1", port)])
    reloads = 0
    stop = threading.Event()

    def reloader() -> None:
        nonlocal reloads
        while not stop.wait(args.interval):
            reloads += 1
            path.write_text(corefile(port, sets[reloads % 2]))
            os.kill(server.pid, reload_signal)

    thread = threading.Thread(target=reloader, daemon=True)
    try:
        # dnsperf's own timeout (-t 5) decides what is lost: a query with no reply in 5 s.
        argv = ["taskset", "-c", bench.LOAD_CORE, "dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d",
                str(bench.QUERIES), "-l", f"{args.duration:g}", "-c", "4", "-q", "100", "-t", "5"]
        thread.start()
        out = bench.run(argv, timeout=args.duration + 60)
    finally:
        stop.set()
        thread.join(timeout=args.interval + 5)
        server.stop()
    sent = int(re.search(r"Queries sent:\s+(\d+)", out).group(1))
    completed = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))
    lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))
    qps = float(re.search(r"Queries per second:\s+([0-9.]+)", out).group(1))
    codes = re.search(r"Response codes:\s+(.*)", out)
    print(f"{name}: {reloads} reloads in {args.duration:g}s; {sent} sent, {completed} completed, {lost} lost, "
          f"{qps:.0f} qps; response codes: {codes.group(1) if codes else '?'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(bench.REPO / ".build-release" / "release" / "dnsgrpcd"))
    parser.add_argument("--duration", type=float, default=40)
    parser.add_argument("--interval", type=float, default=4)
    args = parser.parse_args()
    os.sched_setaffinity(0, {int(bench.LOAD_CORE)})
    work = Path(tempfile.mkdtemp(prefix="dnsgrpcd-reload-"))
    try:
        with bench.Servers() as servers:
            knot_ports = [support.free_port() for _ in range(3)]
            servers.add(bench.start_knot(work, knot_ports))
            run("dnsgrpcd", [args.binary, "--threads", "1"], signal.SIGHUP, args, work, knot_ports)
            coredns = os.environ.get("COREDNS")
            if coredns:
                run("coredns", [coredns], signal.SIGUSR1, args, work, knot_ports)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
