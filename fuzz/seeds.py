#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/TARGET/), from real messages and our own files.

dns-message: queries as dig sends them and the replies knotd gives for examples/zones/example.org.zone (the zone the
integration tests serve), built with dnspython, plus EDNS, truncated and compressed variants. dns-packet: DnsPackets
carrying them, and protobuf oddities (unknown fields, a repeated msg, bad varints). corefile: every Corefile in
examples/ and ones that use each directive. tcp-frames: pipelined streams of those messages. reflection-request:
ServerReflectionRequests of every kind, with hosts, unknown fields and broken lengths.

Files are named by the SHA-1 of their content, as libFuzzer names what it adds, so rerunning adds nothing twice.
Usage: fuzz/seeds.py [OUT_DIR] (default fuzz/corpus).
"""

from __future__ import annotations

import hashlib
import struct
import sys
from pathlib import Path

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.zone

ROOT = Path(__file__).resolve().parent.parent
ZONE = ROOT / "examples" / "zones" / "example.org.zone"


def write(out: Path, target: str, data: bytes) -> None:
    directory = out / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)


def messages() -> list[bytes]:
    zone = dns.zone.from_file(str(ZONE), origin="example.org.", relativize=False)
    wires: list[bytes] = []
    questions = [("www.example.org.", "A"), ("www.example.org.", "AAAA"), ("example.org.", "MX"),
                 ("example.org.", "NS"), ("example.org.", "SOA"), ("ftp.example.org.", "A"),
                 ("big.example.org.", "TXT"), ("nope.example.org.", "A"), ("example.org.", "ANY"),
                 ("1.2.0.192.in-addr.arpa.", "PTR")]
    for name, rdtype in questions:
        for edns in (None, 512, 1232, 4096):
            query = (dns.message.make_query(name, rdtype) if edns is None
                     else dns.message.make_query(name, rdtype, use_edns=0, payload=edns, want_dnssec=edns == 4096))
            wires.append(query.to_wire())
            reply = dns.message.make_response(query)
            reply.flags |= dns.flags.AA
            node = zone.get_node(name)
            if node is None:
                reply.set_rcode(dns.rcode.NXDOMAIN)
                reply.authority.append(zone.find_rrset("example.org.", "SOA"))
            else:
                for rdataset in node.rdatasets:
                    if rdtype == "ANY" or rdataset.rdtype in (dns.rdatatype.from_text(rdtype), dns.rdatatype.CNAME):
                        reply.answer.append(dns.rrset.from_rdata_list(name, rdataset.ttl, list(rdataset)))
                reply.authority.append(zone.find_rrset("example.org.", "NS"))
            whole = reply.to_wire(max_size=65535)
            wires.append(whole)
            if len(whole) > 512:
                wires.append(whole[:512])  # cut mid-record, as a broken middlebox would
    # The ECS option as stub resolvers send it, a cookie, and a query with no question.
    ecs = dns.edns.ECSOption("192.0.2.0", 24)
    wires.append(dns.message.make_query("www.example.org.", "A", use_edns=0, options=[ecs]).to_wire())
    cookie = dns.edns.GenericOption(dns.edns.COOKIE, bytes(range(8)))
    wires.append(dns.message.make_query("www.example.org.", "A", use_edns=0, options=[cookie]).to_wire())
    wires.append(struct.pack("!HHHHHH", 0x1234, 0x0100, 0, 0, 0, 0))
    # A compression pointer to itself, and one past the end: parsers must refuse both.
    wires.append(struct.pack("!HHHHHH", 1, 0x0100, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01")
    wires.append(struct.pack("!HHHHHH", 1, 0x8180, 1, 1, 0, 0) + b"\x03www\x00\x00\x01\x00\x01"
                 + b"\xc0\xff\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01")
    return wires


def packets(wires: list[bytes]) -> list[bytes]:
    def varint(value: int) -> bytes:
        out = b""
        while True:
            byte = value & 0x7F
            value >>= 7
            out += bytes([byte | (0x80 if value else 0)])
            if not value:
                return out

    def packet(msg: bytes) -> bytes:
        return b"\x0a" + varint(len(msg)) + msg

    out = [packet(wire) for wire in wires[::3]]
    out += [
        b"",  # no msg at all
        packet(wires[0]) + b"\x10\x01",  # an unknown varint field after it
        packet(wires[0]) + packet(wires[1]),  # msg twice: the last one counts
        b"\x0a\xff\xff\xff\xff\x0f" + wires[0],  # a length far past the end
        b"\x0a\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",  # a varint over ten bytes
        b"\x0d" + wires[0][:4],  # msg as a fixed32: the wrong wire type
        b"\x0a\x00",  # an empty msg
    ]
    return out


COREFILES = [
    """.:1053 {
    bind 127.0.0.1 ::1 {
        except ::1
    }
    timeouts {
        read 5s
        write 10s
        idle 1m
    }
    limits {
        connections 100
        connections_per_client 10
        pipeline 32
        grpc_calls 64
    }
    cache 300 example.org {
        success 1000 600
        denial 500 60
    }
    hosts /etc/hosts example.org {
        192.0.2.1 inline.example.org
        ttl 60
        reload 0
        no_reverse
        fallthrough
    }
    forward . 127.0.0.1:53 tls://192.0.2.53#dns.example.net {
        except internal.example.org
        max_fails 3
        expire 30s
        policy round_robin
        health_check 1s no_rec domain example.org
        max_concurrent 100
        tls_servername dns.example.net
        next NXDOMAIN SERVFAIL
    }
    log . "{remote} {name} {rcode}" {
        class denial error
    }
    errors {
        consolidate 5m ".* i/o timeout$" warning
    }
    prometheus localhost:9153
    health :8080 {
        lameduck 5s
    }
    ready :8181
    reload 10s 2s
}
""",
    """(common) {
    log
    errors
}
grpc://.:5553 {
    import common
    tls cert.pem key.pem ca.pem {
        client_auth require_and_verify
    }
    grpc . 127.0.0.1:5554 {
        tls cert.pem key.pem ca.pem
        tls_servername upstream.example
        policy sequential
        fallthrough example.org
    }
    whoami
}
tls://example.org 10.0.0.0/24 {$DNS_PORT} {
    proxy . 192.0.2.1:53 192.0.2.2:53 {
        policy least_conn
        fail_timeout 5s
        protocol grpc insecure
        spray
    }
}
""",
    "example.org:53 {\n  file db.example.org # not ours\n}\n",
    ".:53\nwhoami\n",
    ". {\n  import nothing/*.conf\n  forward . /etc/resolv.conf\n}\n",
    "dns://.:{%PORT%} {\n  forward . 127.0.0.1:{$UPSTREAM_PORT}\n  reload\n}\n",
    "\"quoted key\" {\n  forward . \"127.0.0.1\" # comment\n}\n}\n{\n",
]


def corefiles() -> list[bytes]:
    found = [path.read_bytes() for path in sorted((ROOT / "examples").rglob("*Corefile"))]
    return found + [text.encode() for text in COREFILES]


def streams(wires: list[bytes]) -> list[bytes]:
    def framed(wire: bytes) -> bytes:
        return struct.pack("!H", len(wire)) + wire

    out = []
    for piece in (0, 1, 6, 255):  # the first byte: the size of the pieces the stream arrives in, minus one
        out.append(bytes([piece]) + b"".join(framed(wire) for wire in wires[:8]))
    out.append(b"\x00" + framed(wires[0])[:5])  # a partial frame at the end
    out.append(b"\x03" + b"\x00\x00" + framed(wires[1]))  # an empty frame first
    out.append(b"\x10" + b"\xff\xff" + wires[2])  # a length far past what came
    return out


def reflection_requests() -> list[bytes]:
    def varint(value: int) -> bytes:
        out = b""
        while value >= 0x80:
            out += bytes([value & 0x7F | 0x80])
            value >>= 7
        return out + bytes([value])

    def field(number: int, payload: bytes) -> bytes:
        return varint(number << 3 | 2) + varint(len(payload)) + payload

    extension = field(1, b"coredns.dns.DnsPacket") + varint(2 << 3) + varint(100)
    return [
        field(7, b""), field(7, b"*"), field(1, b"dns.test") + field(7, b""),
        field(4, b"coredns.dns.DnsService"), field(4, b"coredns.dns.DnsService.Query"),
        field(4, b"grpc.health.v1.HealthCheckResponse.SERVING"), field(4, b"coredns.dns.NoSuch"),
        field(3, b"dns.proto"), field(3, b"grpc/reflection/v1/reflection.proto"), field(5, extension),
        field(6, b"coredns.dns.DnsPacket"), field(6, b"coredns.dns.DnsService"),
        b"", field(8, b"a newer question"), field(4, b"x") + field(7, b""),  # none; unknown; last one wins
        field(4, b"\xc3\x28"), b"\x22\x09abc", b"\x20\x01", b"\x0b", field(5, b"\x08\x01"),
    ]


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fuzz" / "corpus"
    wires = messages()
    for wire in wires:
        write(out, "dns-message", wire)
    for packet in packets(wires):
        write(out, "dns-packet", packet)
    for text in corefiles():
        write(out, "corefile", text)
    for stream in streams(wires):
        write(out, "tcp-frames", stream)
    for request in reflection_requests():
        write(out, "reflection-request", request)
    for target in sorted(path.name for path in out.iterdir()):
        print(f"{target}: {len(list((out / target).iterdir()))} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
