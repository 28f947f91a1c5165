#!/usr/bin/env python3
"""Asks a DnsService (gRPC, CoreDNS's coredns.dns.DnsService/Query) one DNS question and prints the reply like dig.

    python3 scripts/grpc_query.py [--timeout S] [--bufsize N] HOST:PORT NAME [TYPE]

Independent of dnsgrpcd: the query is built with dnspython and sent with grpcio, using stubs generated from
Protos/dns.proto (by Tests/integration/support.py, into the git-ignored Tests/integration/generated/).
Exit status: 0 with a reply (whatever its rcode), 2 on a gRPC error (status printed to stderr).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "Tests" / "integration"))
import support  # noqa: E402

import dns.message  # noqa: E402
import grpc  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, default=5.0, help="deadline of the call in seconds (default 5)")
    parser.add_argument("--bufsize", type=int, default=None,
                        help="add EDNS0 with this UDP payload size (default: no EDNS)")
    parser.add_argument("server", metavar="HOST:PORT")
    parser.add_argument("name")
    parser.add_argument("type", nargs="?", default="A")
    args = parser.parse_args(argv)

    edns = {} if args.bufsize is None else {"use_edns": 0, "payload": args.bufsize}
    query = dns.message.make_query(args.name, args.type, **edns)
    started = time.monotonic()
    try:
        reply_wire = support.grpc_query(args.server, query.to_wire(), timeout=args.timeout)
    except grpc.RpcError as e:
        print(f";; gRPC error from {args.server}: {e.code().name}: {e.details()}", file=sys.stderr)
        return 2
    elapsed_ms = (time.monotonic() - started) * 1000
    reply = dns.message.from_wire(reply_wire)
    print(reply.to_text())
    print(f";; Query time: {elapsed_ms:.1f} msec")
    print(f";; SERVER: {args.server} (gRPC DnsService)")
    print(f";; MSG SIZE rcvd: {len(reply_wire)}")
    if reply.id != query.id:
        print(f";; warning: reply ID {reply.id} does not match query ID {query.id}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
