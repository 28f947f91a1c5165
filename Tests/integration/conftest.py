"""pytest fixtures for the integration tests; the helpers they wrap live in support.py.

Fixtures:
  dns_pb2 (session, autouse)  generates the Python stubs from Protos/dns.proto into generated/ and imports them
  knot (session)              knotd serving examples/zones/example.org.zone on 127.0.0.1:<free port>; .addr, .port
  dnsgrpcd (function)         factory: dnsgrpcd("--grpc", addr, "--upstream", knot.addr, ...) -> started process,
                              ready once every --grpc/--dns address accepts; stopped (SIGTERM, exit 0 asserted) after
                              the test
  gateway (function)          dnsgrpcd on a free gRPC port with knot as upstream; .grpc_addr
  dns_grpc_server (function)  factory: dns_grpc_server(tag="a", extra_args=(...)) -> the Python DnsService server
  module_processes (module)   track(proc) -> proc: processes a test module starts once for all its tests (via
                              support.start_*); stopped (exit 0 asserted) after the module, logs added to failures
Each process's log (stdout+stderr) is a file; the logs of a failed test's processes are added to its report.
"""

from __future__ import annotations

import pytest

import support

_PROCESSES = pytest.StashKey[list]()
_SESSION_PROCESSES: list[support.Process] = []


def _track(request: pytest.FixtureRequest, proc: support.Process) -> support.Process:
    request.node.stash.setdefault(_PROCESSES, []).append(proc)
    return proc


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed:
        for proc in _SESSION_PROCESSES + item.stash.get(_PROCESSES, []):
            report.sections.append((f"log of {proc.name} (pid {proc.pid}, {proc.log_path})", proc.log()))
    return report


def _stop_all(procs: list[support.Process]) -> None:
    """Stops every process (SIGTERM, exit 0 expected); kills what is left; then re-raises the first failure."""
    errors = []
    for proc in reversed(procs):
        try:
            proc.stop()
        except BaseException as e:  # noqa: BLE001 - every process must be stopped before reporting
            errors.append(e)
        finally:
            proc.kill()
    if errors:
        raise errors[0]


@pytest.fixture(scope="session", autouse=True)
def dns_pb2():
    return support.load_dns_pb2()


@pytest.fixture(scope="session")
def knot(tmp_path_factory: pytest.TempPathFactory) -> support.Knotd:
    proc = support.start_knotd(tmp_path_factory.mktemp("knot"))
    _SESSION_PROCESSES.append(proc)
    try:
        yield proc
    finally:
        _SESSION_PROCESSES.remove(proc)
        _stop_all([proc])


@pytest.fixture
def dnsgrpcd(request: pytest.FixtureRequest, tmp_path):
    """Factory: dnsgrpcd(*args, wait_for=None, timeout=..., env=None) -> support.Dnsgrpcd."""
    started: list[support.Process] = []

    def start(*args: str, **kwargs) -> support.Dnsgrpcd:
        proc = support.start_dnsgrpcd(*args, log_dir=tmp_path, **kwargs)
        started.append(proc)
        return _track(request, proc)

    try:
        yield start
    finally:
        _stop_all(started)


@pytest.fixture
def gateway(dnsgrpcd, knot) -> support.Dnsgrpcd:
    """dnsgrpcd serving gRPC on a free loopback port, forwarding to knot."""
    port = support.free_port()
    return dnsgrpcd("--grpc", f"127.0.0.1:{port}", "--upstream", knot.addr, "--log-level", "debug")


@pytest.fixture
def dns_grpc_server(request: pytest.FixtureRequest, tmp_path):
    """Factory: dns_grpc_server(tag="a", port=None, extra_args=()) -> support.DnsGrpcServer."""
    started: list[support.Process] = []

    def start(tag: str = "a", **kwargs) -> support.DnsGrpcServer:
        proc = support.start_dns_grpc_server(tmp_path, tag=tag, **kwargs)
        started.append(proc)
        return _track(request, proc)

    try:
        yield start
    finally:
        _stop_all(started)


@pytest.fixture(scope="module")
def module_processes():
    """track(proc) -> proc, for processes shared by the tests of one module."""
    started: list[support.Process] = []

    def track(proc: support.Process) -> support.Process:
        started.append(proc)
        _SESSION_PROCESSES.append(proc)
        return proc

    try:
        yield track
    finally:
        for proc in started:
            _SESSION_PROCESSES.remove(proc)
        _stop_all(started)
