#!/usr/bin/env python3
"""Where dnsgrpcd spends its core under one benchmark load: `perf record` on the pinned server while dnsperf or
h2load drives it, then the hottest symbols (self time). The same placement as bench.py: server on core 0, load
generator and knotd on core 1, traffic on 127.0.0.1 only.

    python3 bench/profile.py SCENARIO [--binary .build-release/release/dnsgrpcd] [--duration 5] [--top 40]
    SCENARIO: udp | grpc | tcp | dot

Needs `perf` (Debian's linux-perf). Writes perf.data into a temporary folder that is removed afterwards, unless
--keep DIR names a folder to leave it in (then `perf report -i DIR/perf.data` reads it again).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402
from bench import support  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=["udp", "grpc", "tcp", "dot"])
    parser.add_argument("--binary", default=str(bench.REPO / ".build-release" / "release" / "dnsgrpcd"))
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--threads", default="1")
    parser.add_argument("--keep", help="folder to keep perf.data in")
    args = parser.parse_args()
    if not shutil.which("perf"):
        print("profile: needs perf (apt-get install linux-perf)", file=sys.stderr)
        return 1
    os.sched_setaffinity(0, {int(bench.LOAD_CORE)})
    support.generate_stubs()
    work = Path(tempfile.mkdtemp(prefix="dnsgrpcd-profile-"))
    started = []
    try:
        knot_port = support.free_port()
        started.append(bench.start_knot(work, [knot_port]))
        ports = {k: support.free_port() for k in ("udp", "dot", "grpc")}
        conf = bench.corefile(work, "ours", bench.ours_corefile(ports, f"127.0.0.1:{knot_port}"))
        server = bench.dnsgrpcd("dnsgrpcd", args.binary, conf, work / "dnsgrpcd.log",
                                [("127.0.0.1", ports["udp"]), ("127.0.0.1", ports["grpc"])], threads=args.threads)
        started.append(server)
        data = work / "perf.data"
        perf = subprocess.Popen(["perf", "record", "-g", "-o", str(data), "-p", str(server.pid), "--",
                                 "sleep", str(args.duration)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kind = args.scenario
        result: list = []
        if kind == "grpc":
            body = work / "query.grpc"
            body.write_bytes(bench.grpc_body())
            load = threading.Thread(target=lambda: result.append(bench.h2load(ports["grpc"], args.duration, body)))
        else:
            port = ports["dot"] if kind == "dot" else ports["udp"]
            load = threading.Thread(target=lambda: result.append(bench.dnsperf(port, kind, args.duration)))
        load.start()
        load.join(timeout=args.duration + 90)
        perf.wait(timeout=args.duration + 60)
        # Kept before anything is printed, so a reader that closes the pipe early still leaves the data behind.
        if args.keep:
            Path(args.keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(data, Path(args.keep) / "perf.data")
        print(f"load: {result[0] if result else 'did not finish'}")
        report = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--percent-limit", "0.4",
                                 "--stdio", "-g", "none", "--sort", "comm,dso,symbol"],
                                capture_output=True, text=True, timeout=300)
        lines = [line for line in report.stdout.splitlines() if line.strip() and not line.startswith("#")]
        print("\n".join(lines[: args.top]))
    finally:
        for process in reversed(started):
            process.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
