#!/usr/bin/env python3
"""A/B of two dnsgrpcd binaries under the same loads in one run, runs interleaved (old, new, old, new, ...) so
that the shared machine's drift hits both alike. Prints the median qps of each and the ratio new/old.
Same placement as bench.py: servers on core 0, load generator and knotd on core 1, traffic on 127.0.0.1.

    python3 bench/compare.py OLD_BINARY NEW_BINARY [--runs 3] [--duration 4] [--scenarios udp,udp-mux,grpc,grpc-mux]
    (also tcp, tcp-mux, dot, dot-mux: dnsperf over TCP or TLS to the same listeners)

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

SCENARIOS = ("udp", "udp-mux", "grpc", "grpc-mux")
MORE_SCENARIOS = ("tcp", "tcp-mux", "dot", "dot-mux")


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
    results: dict[tuple[str, str], list[float]] = {}
    try:
        knot_port = support.free_port()
        started.append(bench.start_knot(work, [knot_port]))
        upstream = f"127.0.0.1:{knot_port}"
        body = work / "query.grpc"
        body.write_bytes(bench.grpc_body())
        # Per binary: one process with the default listeners and one with multiplex_udp.
        ports: dict[tuple[str, str], dict[str, int]] = {}
        for label, binary in (("old", args.old), ("new", args.new)):
            for option in ("", "multiplex_udp"):
                key = (label, option)
                ports[key] = {k: support.free_port() for k in ("udp", "dot", "grpc")}
                conf = bench.corefile(work, f"{label}-{option or 'default'}",
                                      bench.ours_corefile(ports[key], upstream, option))
                started.append(bench.dnsgrpcd(f"{label} {option}", binary, conf,
                                              work / f"{label}-{option or 'default'}.log",
                                              [("127.0.0.1", ports[key]["udp"]), ("127.0.0.1", ports[key]["grpc"])]))
        for _ in range(args.runs):
            for scenario in scenarios:
                option = "multiplex_udp" if scenario.endswith("-mux") else ""
                for label in ("old", "new"):
                    p = ports[(label, option)]
                    kind = scenario.split("-")[0]
                    if kind == "grpc":
                        figures = bench.h2load(p["grpc"], args.duration, body)
                    else:
                        figures = bench.dnsperf(p["dot" if kind == "dot" else "udp"], kind, args.duration)
                    results.setdefault((scenario, label), []).append(figures.qps)
    finally:
        for server in reversed(started):
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'scenario':10} {'old qps':>9} {'new qps':>9} {'new/old':>8}   runs (old | new)")
    for scenario in scenarios:
        old, new = results[(scenario, "old")], results[(scenario, "new")]
        ratio = statistics.median(new) / statistics.median(old)
        print(f"{scenario:10} {statistics.median(old):9.0f} {statistics.median(new):9.0f} {ratio:8.2f}   "
              f"{[round(x) for x in old]} | {[round(x) for x in new]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
