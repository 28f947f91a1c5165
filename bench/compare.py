#!/usr/bin/env python3
"""A/B of two dnsgrpcd binaries under the same loads in one run, runs interleaved (old, new, old, new, ...) so
that the shared machine's drift hits both alike. Prints the median qps and CPU time per answered query of each
(bench.py's measure) and the ratios new/old. Same placement as bench.py: servers on core 0, load generator and knotd
on core 1, traffic on 127.0.0.1.

    python3 bench/compare.py OLD_BINARY NEW_BINARY [--runs 3] [--duration 4] [--scenarios udp,grpc]
    (also tcp, dot: dnsperf over TCP or TLS to the same listeners)

An older binary comes from a second checkout with its own scratch path (a first release build takes minutes):
    git worktree add /tmp/old REV && (cd /tmp/old && swift build -c release --product dnsgrpcd)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402
from bench import support  # noqa: E402

SCENARIOS = ("udp", "grpc")
MORE_SCENARIOS = ("tcp", "dot")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=4)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS) - set(MORE_SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; expected some of {', '.join(SCENARIOS + MORE_SCENARIOS)}")
    os.sched_setaffinity(0, {int(bench.LOAD_CORE)})
    support.generate_stubs()
    work = Path(tempfile.mkdtemp(prefix="dnsgrpcd-compare-"))
    started = []
    results: dict[tuple[str, str], list[bench.Figures]] = {}
    try:
        knot_port = support.free_port()
        started.append(bench.start_knot(work, [knot_port]))
        upstream = f"127.0.0.1:{knot_port}"
        body = work / "query.grpc"
        body.write_bytes(bench.grpc_body())
        ports: dict[str, dict[str, int]] = {}
        servers = {}
        for label, binary in (("old", args.old), ("new", args.new)):
            ports[label] = {k: support.free_port() for k in ("udp", "dot", "grpc")}
            conf = bench.corefile(work, label, bench.ours_corefile(ports[label], upstream))
            servers[label] = bench.dnsgrpcd(label, binary, conf, work / f"{label}.log",
                                            [("127.0.0.1", ports[label]["udp"]), ("127.0.0.1", ports[label]["grpc"])])
            started.append(servers[label])
        for _ in range(args.runs):
            for scenario in scenarios:
                for label in ("old", "new"):
                    p = ports[label]
                    if scenario == "grpc":
                        load = lambda: bench.h2load(p["grpc"], args.duration, body)  # noqa: E731
                    else:
                        load = lambda: bench.dnsperf(p["dot" if scenario == "dot" else "udp"], scenario,  # noqa: E731
                                                     args.duration)
                    results.setdefault((scenario, label), []).append(bench.measured(servers[label].pid, load))
    finally:
        for server in reversed(started):
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'scenario':10} {'old qps':>9} {'new qps':>9} {'new/old':>8} {'old µs/q':>9} {'new µs/q':>9} {'new/old':>8}"
          f"   qps runs (old | new)")
    for scenario in scenarios:
        old, new = results[(scenario, "old")], results[(scenario, "new")]
        qps = [statistics.median(f.qps for f in runs) for runs in (old, new)]
        cpu = [statistics.median(f.cpu_us for f in runs) for runs in (old, new)]
        print(f"{scenario:10} {qps[0]:9.0f} {qps[1]:9.0f} {qps[1] / qps[0]:8.2f} {cpu[0]:9.1f} {cpu[1]:9.1f} "
              f"{cpu[1] / cpu[0]:8.2f}   {[round(f.qps) for f in old]} | {[round(f.qps) for f in new]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
