#!/usr/bin/env python3
"""A CoreDNS-compatible DnsService (gRPC) server for tests: the far end of DNS -> gRPC forwarding.

    python3 dns_grpc_server.py --port P [--host 127.0.0.1] [--tag NAME] [--delay S] [--rcode RCODE]
                               [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]]

Every query gets a reply with the question echoed and, in the answer section,
    QNAME 60 IN A   192.0.2.1
    QNAME 60 IN TXT "tag=NAME"
so a test can tell which of several servers answered. With --rcode other than NOERROR the answer is empty;
--delay holds each reply back (for deadline tests). A request that is not a DNS query gets INVALID_ARGUMENT, as
dnsgrpcd does. With --tls-cert/--tls-key it serves TLS; adding --tls-client-ca requires client certificates
signed by that CA (mutual TLS). Exits 0 on SIGTERM/SIGINT. Loopback only by default.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from concurrent import futures
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import support  # noqa: E402

import dns.exception  # noqa: E402
import dns.flags  # noqa: E402
import dns.message  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdataclass  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.rrset  # noqa: E402
import grpc  # noqa: E402

ANSWER_A = "192.0.2.1"
TTL = 60


def make_reply(query_wire: bytes, tag: str, rcode: int = dns.rcode.NOERROR) -> bytes:
    """The reply to one query; raises dns.exception.DNSException if `query_wire` is not a DNS query."""
    query = dns.message.from_wire(query_wire)
    if not query.question or query.flags & dns.flags.QR:
        raise dns.exception.FormError("not a query with a question")
    reply = dns.message.make_response(query)
    reply.set_rcode(rcode)
    if rcode == dns.rcode.NOERROR:
        qname = query.question[0].name
        reply.answer.append(dns.rrset.from_text(qname, TTL, dns.rdataclass.IN, dns.rdatatype.A, ANSWER_A))
        reply.answer.append(dns.rrset.from_text(qname, TTL, dns.rdataclass.IN, dns.rdatatype.TXT, f'"tag={tag}"'))
    return reply.to_wire()


def server_credentials(cert: str | None, key: str | None, client_ca: str | None):
    """None for plaintext; TLS credentials otherwise, requiring a client certificate when client_ca is given."""
    if cert is None and key is None:
        if client_ca is not None:
            raise SystemExit("--tls-client-ca needs --tls-cert and --tls-key")
        return None
    if cert is None or key is None:
        raise SystemExit("--tls-cert and --tls-key go together")
    pair = (Path(key).read_bytes(), Path(cert).read_bytes())
    root = Path(client_ca).read_bytes() if client_ca else None
    return grpc.ssl_server_credentials([pair], root_certificates=root, require_client_auth=root is not None)


def serve(host: str, port: int, tag: str, delay: float, rcode: int, workers: int, credentials=None) -> int:
    pb2 = support.load_dns_pb2()

    def query(request: bytes, context: grpc.ServicerContext) -> bytes:
        # The request arrives as bytes so that a body that is not a DnsPacket gets INVALID_ARGUMENT, as from dnsgrpcd.
        try:
            packet = pb2.DnsPacket.FromString(request)
        except Exception as e:  # protobuf's DecodeError
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"not a DnsPacket: {e}")
        if delay:
            time.sleep(delay)
        try:
            return pb2.DnsPacket(msg=make_reply(packet.msg, tag, rcode)).SerializeToString()
        except (dns.exception.DNSException, ValueError) as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"not a DNS query: {e}")

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers),
                         options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "coredns.dns.DnsService", {"Query": grpc.unary_unary_rpc_method_handler(query)})])
    addr = support.join_hostport(host, port)
    bound = server.add_secure_port(addr, credentials) if credentials else server.add_insecure_port(addr)
    if bound == 0:
        print(f"dns_grpc_server[{tag}]: cannot listen on {addr}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    mode = "plaintext" if credentials is None else "TLS"
    print(f"dns_grpc_server[{tag}]: serving DnsService on {addr} ({mode})", file=sys.stderr, flush=True)
    # Waits in short steps, never in one untimed wait: Python runs a signal handler only in the main thread, and a
    # main thread blocked in an untimed lock wait may not wake for it (gRPC's own threads can take the signal), so
    # a SIGTERM could go unhandled until the test killed us. grpcio waits the same way (MAXIMUM_WAIT_TIMEOUT).
    while not stop.wait(0.1):
        pass
    server.stop(grace=1).wait(5)
    print(f"dns_grpc_server[{tag}]: stopped", file=sys.stderr, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--tag", default="a", help="put into the TXT answer as tag=NAME")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each reply")
    parser.add_argument("--rcode", default="NOERROR", help="rcode of every reply (NOERROR, SERVFAIL, ...)")
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--tls-cert", help="serve TLS with this certificate chain (PEM)")
    parser.add_argument("--tls-key", help="the certificate's private key (PEM)")
    parser.add_argument("--tls-client-ca", help="require client certificates signed by this CA (PEM)")
    args = parser.parse_args(argv)
    credentials = server_credentials(args.tls_cert, args.tls_key, args.tls_client_ca)
    return serve(args.host, args.port, args.tag, args.delay, dns.rcode.from_text(args.rcode), args.workers,
                 credentials)


if __name__ == "__main__":
    sys.exit(main())
