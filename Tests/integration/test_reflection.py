"""gRPC server reflection on dnsgrpcd's gRPC listeners, driven by an independent client: grpcio-reflection's
descriptor database (v1alpha, the version the Python package ships) and, for v1, the same messages sent over the
v1 method path (the two versions' messages are identical on the wire).

DnsService is listed, described and called with no .proto file: its request and response classes are built from the
descriptor the server sends, and the call gets a real answer from knotd.
"""

from __future__ import annotations

import threading

import dns.message
import dns.rcode
import dns.query
import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

import support

V1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
V1ALPHA = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
HANDLED = "dnsgrpcd_grpc_server_handled_total"
SERVICES = ["coredns.dns.DnsService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection"]


def start_listener(dnsgrpcd, tmp_path, knot, extra: str = "") -> tuple[str, str]:
    """dnsgrpcd with one gRPC listener forwarding to knot (and `extra` in its block); returns the gRPC and metrics
    addresses."""
    grpc_port, metrics_port = support.free_port(), support.free_port()
    conf = support.write_corefile(tmp_path, f"""
grpc://.:{grpc_port} {{
    bind 127.0.0.1
    prometheus 127.0.0.1:{metrics_port}
    forward . {knot.addr}
{extra}
}}
""")
    addr, metrics = f"127.0.0.1:{grpc_port}", f"127.0.0.1:{metrics_port}"
    dnsgrpcd("-conf", str(conf), wait_for=[addr, metrics])
    return addr, metrics


def reflection_stream(channel: grpc.Channel, path: str):
    """The ServerReflectionInfo method at `path`, with grpcio-reflection's message classes."""
    return channel.stream_stream(path, request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                                 response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)


def raw_stream(channel: grpc.Channel, path: str = V1):
    """The same method with bytes in and out, to send what no protobuf library would."""
    return channel.stream_stream(path, request_serializer=None, response_deserializer=None)


def test_dns_service_is_listed_described_and_called_with_no_proto_file(dnsgrpcd, tmp_path, knot):
    addr, _ = start_listener(dnsgrpcd, tmp_path, knot)
    with grpc.insecure_channel(addr) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        assert sorted(database.get_services()) == SERVICES
        pool = descriptor_pool.DescriptorPool(database)
        service = pool.FindServiceByName("coredns.dns.DnsService")
        method = service.FindMethodByName("Query")
        assert (method.full_name, method.input_type.full_name, method.output_type.full_name) \
            == ("coredns.dns.DnsService.Query", "coredns.dns.DnsPacket", "coredns.dns.DnsPacket")
        assert not method.client_streaming and not method.server_streaming
        # The method and the message name the same file (asked of the server: Python's pool does not look methods
        # up by symbol itself).
        assert database.FindFileContainingSymbol("coredns.dns.DnsService.Query").name == "dns.proto"
        assert database.FindFileContainingSymbol("coredns.dns.DnsPacket").name == "dns.proto"

        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        field = method.input_type.fields[0].name
        query = dns.message.make_query("www.example.org", "A")
        call = channel.unary_unary(f"/{service.full_name}/{method.name}",
                                   request_serializer=request_class.SerializeToString,
                                   response_deserializer=response_class.FromString)
        reply = dns.message.from_wire(getattr(call(request_class(**{field: query.to_wire()}),
                                                   timeout=support.CALL_TIMEOUT), field))
    direct = dns.query.udp(dns.message.make_query("www.example.org", "A"), "127.0.0.1", port=knot.port,
                           timeout=support.CALL_TIMEOUT)
    assert reply.id == query.id and reply.rcode() == dns.rcode.NOERROR
    assert support.rr_set(reply.answer) == support.rr_set(direct.answer) and reply.answer


@pytest.mark.parametrize("path", [V1, V1ALPHA])
def test_unknown_symbol_gets_not_found_and_the_stream_goes_on(dnsgrpcd, tmp_path, knot, path):
    addr, metrics = start_listener(dnsgrpcd, tmp_path, knot)
    requests = [
        reflection_pb2.ServerReflectionRequest(host="dns.test", file_containing_symbol="coredns.dns.NoSuch"),
        reflection_pb2.ServerReflectionRequest(file_by_filename="no/such.proto"),
        reflection_pb2.ServerReflectionRequest(
            file_containing_extension=reflection_pb2.ExtensionRequest(containing_type="coredns.dns.DnsPacket",
                                                                      extension_number=100)),
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="coredns.dns.DnsService"),
    ]
    with grpc.insecure_channel(addr) as channel:
        responses = list(reflection_stream(channel, path)(iter(requests), timeout=support.CALL_TIMEOUT))
    assert len(responses) == len(requests)
    for request, response in zip(requests, responses):
        assert response.original_request == request
        assert response.valid_host == request.host
    kinds = [r.WhichOneof("message_response") for r in responses]
    assert kinds == ["error_response"] * 3 + ["list_services_response", "file_descriptor_response"]
    assert [r.error_response.error_code for r in responses[:3]] == [grpc.StatusCode.NOT_FOUND.value[0]] * 3
    assert "coredns.dns.NoSuch" in responses[0].error_response.error_message
    assert "no/such.proto" in responses[1].error_response.error_message
    assert [s.name for s in responses[3].list_services_response.service] == SERVICES
    assert len(responses[4].file_descriptor_response.file_descriptor_proto) == 1
    # The stream ended with OK when the client closed its side, and the metrics say so under its method.
    support.wait_for_metric(metrics, HANDLED, 1, method=path, code="OK")


def test_bytes_that_are_not_a_request_end_the_stream_with_invalid_argument(dnsgrpcd, tmp_path, knot):
    addr, metrics = start_listener(dnsgrpcd, tmp_path, knot)
    list_services = reflection_pb2.ServerReflectionRequest(list_services="").SerializeToString()
    with grpc.insecure_channel(addr) as channel:
        # A good request is answered, then a string field whose length runs past the message ends the stream.
        call = raw_stream(channel)(iter([list_services, b"\x22\x09abc"]), timeout=support.CALL_TIMEOUT)
        with pytest.raises(grpc.RpcError) as error:
            received = [reply for reply in call]
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "ServerReflectionRequest" in error.value.details()
        # A file name that is not UTF-8.
        with pytest.raises(grpc.RpcError) as error:
            received = list(raw_stream(channel)(iter([b"\x1a\x02\xc3\x28"]), timeout=support.CALL_TIMEOUT))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, received
    support.wait_for_metric(metrics, HANDLED, 2, method=V1, code="INVALID_ARGUMENT")


def test_reflection_off_gives_unimplemented_and_dns_service_still_answers(dnsgrpcd, tmp_path, knot):
    addr, _ = start_listener(dnsgrpcd, tmp_path, knot, extra="    reflection off")
    with grpc.insecure_channel(addr) as channel:
        for path in (V1, V1ALPHA):
            with pytest.raises(grpc.RpcError) as error:
                list(reflection_stream(channel, path)(iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
                                                      timeout=support.CALL_TIMEOUT))
            assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED, path
    reply = dns.message.from_wire(support.grpc_query(addr, dns.message.make_query("www.example.org", "A").to_wire()))
    assert reply.rcode() == dns.rcode.NOERROR and reply.answer


def test_a_stream_over_its_request_cap_gets_resource_exhausted(dnsgrpcd, tmp_path, knot):
    """GRPCStreamLimits.messages: 1024 requests a stream, then RESOURCE_EXHAUSTED."""
    addr, metrics = start_listener(dnsgrpcd, tmp_path, knot)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    with grpc.insecure_channel(addr) as channel:
        call = reflection_stream(channel, V1)(iter([request] * 1100), timeout=60)
        answered = 0
        with pytest.raises(grpc.RpcError) as error:
            for _ in call:
                answered += 1
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert answered == 1024
    support.wait_for_metric(metrics, HANDLED, 1, method=V1, code="RESOURCE_EXHAUSTED")


def test_a_stream_over_its_byte_cap_gets_resource_exhausted(dnsgrpcd, tmp_path, knot):
    """GRPCStreamLimits.bytes: 4 MiB of requests a stream (each under the listener's 256 KiB), then
    RESOURCE_EXHAUSTED, with the requests before it answered."""
    addr, metrics = start_listener(dnsgrpcd, tmp_path, knot)
    request = reflection_pb2.ServerReflectionRequest(file_by_filename="x" * 200_000 + ".proto")
    fitting = 4 * 1024 * 1024 // request.ByteSize()
    with grpc.insecure_channel(addr) as channel:
        call = reflection_stream(channel, V1)(iter([request] * (fitting + 5)), timeout=60)
        answered = 0
        with pytest.raises(grpc.RpcError) as error:
            for reply in call:
                assert reply.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
                answered += 1
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "request bytes" in error.value.details()
    assert answered == fitting
    support.wait_for_metric(metrics, HANDLED, 1, method=V1, code="RESOURCE_EXHAUSTED")


def test_idle_and_cancelled_streams_cannot_hold_the_room_of_dns_queries(dnsgrpcd, tmp_path, knot):
    """Streams in service are capped (GRPCStreamLimits.inService, 64) well below the listener's calls (4,096): 150
    streams that never send a request take at most 64 places, DnsService queries are still answered, and once the clients
    cancel them every stream leaves service at once (the idle timeout, 60 s, is not what frees them here)."""
    addr, metrics = start_listener(dnsgrpcd, tmp_path, knot)
    in_service = lambda: support.scrape(metrics).value("dnsgrpcd_grpc_calls_in_service")  # noqa: E731
    test_over = threading.Event()

    def silent():
        """A client that opens a stream and says nothing until the test is over."""
        test_over.wait()
        return
        yield

    with grpc.insecure_channel(addr) as channel:
        streams = [raw_stream(channel)(silent(), timeout=120) for _ in range(150)]
        try:
            # The cap counts the requests held out for streams too (one per completion queue for each version,
            # those of v1alpha unused here), so fewer than 64 of these v1 streams get in; half of them at least.
            support.wait_until(lambda: in_service() >= 32, timeout=support.READY_TIMEOUT,
                               what="silent streams in service")
            for _ in range(20):
                reply = dns.message.from_wire(
                    support.grpc_query(addr, dns.message.make_query("www.example.org", "A").to_wire()))
                assert reply.rcode() == dns.rcode.NOERROR and reply.answer
            # The queries leave service as their status goes out; the streams past the cap wait in gRPC core.
            support.wait_until(lambda: 32 <= in_service() <= 64, timeout=support.READY_TIMEOUT,
                               what="the silent streams only in service, at most 64")
            assert in_service() <= 64
        finally:
            for stream in streams:
                stream.cancel()
            test_over.set()
        support.wait_until(lambda: in_service() == 0, timeout=support.READY_TIMEOUT,
                           what="cancelled streams out of service")
