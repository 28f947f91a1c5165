"""Helpers for the integration tests and the demo: the one place for them.

Everything here talks only to 127.0.0.1 / ::1, and every wait is bounded. It does not import pytest, so scripts can
use it too; the pytest fixtures that wrap it are in conftest.py.

Run as a script it offers two helpers to shell scripts (scripts/demo.sh):
    python3 support.py free-port
    python3 support.py knot-conf --port PORT --dir DIR      (prints knotd's configuration, creates DIR's folders)
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
PROTO_DIR = REPO / "Protos"
PROTO = PROTO_DIR / "dns.proto"
GENERATED = HERE / "generated"
ZONE_DIR = REPO / "examples" / "zones"
KNOT_CONF_TEMPLATE = REPO / "examples" / "knot.conf.in"
DNS_GRPC_SERVER = HERE / "dns_grpc_server.py"
# The test PKI (certs/make-certs.sh): test-only keys.
CERTS = REPO / "certs"

ZONE = "example.org."
METHOD = "/coredns.dns.DnsService/Query"

# Debug builds on a 2-core machine start slowly, and `make test` may share the machine with a build: these bound
# every wait (a hang), they are not expected durations. A test waits for a condition, never for a time.
READY_TIMEOUT = float(os.environ.get("DNSGRPCD_READY_TIMEOUT", "30"))
STOP_TIMEOUT = 20.0
# One DNS query, gRPC call or HTTP request to a local server that is up: answered in milliseconds, bounded by this.
CALL_TIMEOUT = 15.0


# --- addresses and ports -------------------------------------------------------------------------------------------

def split_hostport(addr: str) -> tuple[str, int]:
    """`127.0.0.1:53`, `[::1]:53` or `localhost:53` -> (host, port)."""
    m = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:\[\]]+):(\d+)", addr)
    if not m:
        raise ValueError(f"expected HOST:PORT or [IPV6]:PORT, got {addr!r}")
    host = m.group(1) or m.group(3)
    return host, int(m.group(2) or m.group(4))


def join_hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _ports_outside_ephemeral_range() -> range:
    """The larger run of ports that the kernel never hands out on its own (outside ip_local_port_range).

    A port taken from bind(0) comes from the ephemeral range, and after it is closed any outgoing socket (a dig, a
    resolver's upstream query, a TCP connect) may be given the same port before our server binds it: that race
    failed CI once ("Address already in use"). Ports outside the range are only ever taken by explicit binds."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = (int(v) for v in f.read().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    below, above = range(10000, max(10000, low)), range(high + 1, 65536)
    return below if len(below) >= len(above) else above


def _this_workers_ports() -> range:
    """The ports this process hands out. pytest-xdist's workers (PYTEST_XDIST_WORKER=gwN) each get a slice of their
    own: a port one worker has checked and not yet given to its server must not look free to another."""
    ports = _ports_outside_ephemeral_range()
    worker, count = os.environ.get("PYTEST_XDIST_WORKER", ""), os.environ.get("PYTEST_XDIST_WORKER_COUNT", "")
    if not (worker.startswith("gw") and worker[2:].isdigit() and count.isdigit() and int(count) > 0):
        return ports
    size = len(ports) // int(count)
    start = ports.start + int(worker[2:]) * size
    return range(start, start + size)


_PORTS = _this_workers_ports()
# Each process walks its ports from its own place, so two test runs on one machine rarely meet, and one run never
# hands out a port twice (a suite uses far fewer ports than the range holds).
_next_port_index = (os.getpid() * 7919) % len(_PORTS)


def free_port(host: str = "127.0.0.1") -> int:
    """A port that is free for both TCP and UDP on `host` right now and that no outgoing socket will be given in
    the meantime (see `_ports_outside_ephemeral_range`); bounded number of tries."""
    global _next_port_index
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(1000):
        port = _PORTS[_next_port_index % len(_PORTS)]
        _next_port_index += 1
        try:
            with socket.socket(family, socket.SOCK_STREAM) as tcp, socket.socket(family, socket.SOCK_DGRAM) as udp:
                tcp.bind((host, port))
                udp.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"found no port free for both TCP and UDP on {host} in 1000 tries")


def udp_bound(host: str, port: int) -> bool:
    """Whether a UDP socket of this machine is bound to `port`: in /proc/net/udp6, or for an IPv4 `host` also in
    /proc/net/udp (an IPv6 wildcard socket takes IPv4 too).

    Asks the kernel, not the server: a probe datagram would reach a test's counters."""
    want = f":{port:04X}"
    for path in ("/proc/net/udp6",) if ":" in host else ("/proc/net/udp", "/proc/net/udp6"):
        with open(path) as table:
            next(table)
            if any(line.split()[1].endswith(want) for line in table):
                return True
    return False


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for processes we start: no proxy settings (gRPC honours them, our traffic is loopback)."""
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.update(extra or {})
    return env


# --- processes -----------------------------------------------------------------------------------------------------

class ProcessError(AssertionError):
    pass


class Process:
    """A child process whose stdout+stderr go to a log file; stop() sends a signal and checks the exit code."""

    def __init__(self, name: str, argv: list[str], log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None):
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.returncode: int | None = None
        self._stopped = False
        with open(self.log_path, "wb") as log:
            # A session of its own: a Ctrl-C in the terminal reaches pytest, whose finalizers stop us cleanly.
            self.popen = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                          env=child_env(env), cwd=cwd, start_new_session=True)
        self.pid = self.popen.pid

    def __repr__(self) -> str:
        return f"<{self.name} pid={self.pid}>"

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log(self, limit: int = 20000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError as e:
            return f"(no log: {e})"
        text = data[-limit:].decode("utf-8", "replace")
        return ("[...]\n" if len(data) > limit else "") + text

    def describe(self) -> str:
        return (f"{self.name} (pid {self.pid}): {' '.join(self.argv)}\n"
                f"--- log {self.log_path} ---\n{self.log()}--- end of log ---")

    def wait_for_port(self, host: str, port: int, timeout: float = READY_TIMEOUT) -> None:
        """Waits until host:port accepts TCP connections; fails early if the process exits."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise ProcessError(f"{self.name} exited with {self.popen.returncode} before "
                                   f"{join_hostport(host, port)} accepted\n{self.describe()}")
            if port_accepts(host, port, timeout=0.5):
                return
            time.sleep(0.05)
        raise ProcessError(f"{join_hostport(host, port)} did not accept within {timeout}s\n{self.describe()}")

    def wait_for_udp(self, host: str, port: int, timeout: float = READY_TIMEOUT) -> None:
        """Waits until a UDP socket is bound to `port` (see udp_bound); fails early if the process exits."""
        deadline = time.monotonic() + timeout
        while not udp_bound(host, port):
            if not self.alive():
                raise ProcessError(f"{self.name} exited with {self.popen.returncode} before UDP "
                                   f"{join_hostport(host, port)} was bound\n{self.describe()}")
            if time.monotonic() >= deadline:
                raise ProcessError(f"no UDP socket bound to {join_hostport(host, port)} within {timeout}s\n"
                                   f"{self.describe()}")
            time.sleep(0.02)

    def wait_for_log(self, text: str, timeout: float = READY_TIMEOUT, count: int = 1) -> str:
        """Waits until the log holds `text` (`count` times) and returns the log. Written by the process's own
        logging, a line can follow the event it tells of (a port that accepts, an answer sent) by a moment."""
        return wait_until(lambda: self.log().count(text) >= count and self.log(), timeout,
                          f"{text!r} in the log of {self.name} ({count} times)")

    def stop(self, sig: int = signal.SIGTERM, expect: int | None = 0, timeout: float = STOP_TIMEOUT) -> int:
        """Sends `sig`, waits up to `timeout` (then SIGKILL), and asserts the exit code is `expect` (None: any).

        Idempotent: a second call returns the first exit code without checking again."""
        if self._stopped:
            return self.returncode  # type: ignore[return-value]
        self._stopped = True
        if self.alive():
            try:
                self.popen.send_signal(sig)
            except ProcessLookupError:
                pass
        try:
            self.returncode = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.returncode = self.popen.wait(timeout=5)
            raise ProcessError(f"{self.name} did not exit within {timeout}s of {signal.Signals(sig).name}; "
                               f"killed\n{self.describe()}")
        self._kill_group()
        if expect is not None and self.returncode != expect:
            raise ProcessError(f"{self.name} exited with {self.returncode} after {signal.Signals(sig).name}, "
                               f"expected {expect}\n{self.describe()}")
        return self.returncode

    def kill(self) -> None:
        """Last resort for finalizers: never raises, never waits long."""
        if self.alive():
            self.popen.kill()
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self._kill_group()
        self._stopped = True

    def _kill_group(self) -> None:
        # The child leads a process group of its own (start_new_session): whatever it left behind (a wrapper's
        # child, say) goes with it.
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


# --- dnsgrpcd ------------------------------------------------------------------------------------------------------

def dnsgrpcd_binary() -> Path:
    """$DNSGRPCD (e.g. a release build) or .build/debug/dnsgrpcd."""
    path = Path(os.environ.get("DNSGRPCD") or REPO / ".build" / "debug" / "dnsgrpcd")
    if not path.is_absolute():
        path = Path.cwd() / path
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"no dnsgrpcd binary at {path}: run `swift build` (or `make build`), "
                                f"or point DNSGRPCD at one")
    return path


def listen_addresses(args: tuple[str, ...] | list[str]) -> list[str]:
    """The values of every --grpc and --dns option (`--grpc X` or `--grpc=X`), in order."""
    found = []
    args = list(args)
    for i, a in enumerate(args):
        for opt in ("--grpc", "--dns"):
            if a == opt and i + 1 < len(args):
                found.append(args[i + 1])
            elif a.startswith(opt + "="):
                found.append(a.split("=", 1)[1])
    return found


class Dnsgrpcd(Process):
    @property
    def grpc_addr(self) -> str:
        """The first --grpc address."""
        for a, value in zip(self.argv, self.argv[1:]):
            if a == "--grpc":
                return value
        raise ValueError(f"{self.name} was started without --grpc")


def _corefile_dns_ports(args: list[str], env: dict[str, str] | None, cwd: Path | None) -> set[int]:
    """The ports of the plain DNS server blocks (UDP and TCP) of the Corefile dnsgrpcd will read with `args`: -conf,
    else ./Corefile, else the default block on -dns.port. Keys with another scheme (tls://, grpc://) and blocks with
    a `tls` directive serve no UDP. A reading that fails gives no ports (only TCP is then waited for)."""
    if any(a == opt or a.startswith(opt + "=") for a in args for opt in ("--grpc", "--dns", "--upstream")):
        return set()  # the quick-start flags: no Corefile
    values = {}
    for i, a in enumerate(args):
        for opt in ("-conf", "--conf", "-dns.port"):
            if a == opt and i + 1 < len(args):
                values[opt.lstrip("-")] = args[i + 1]
            elif a.startswith(opt + "="):
                values[opt.lstrip("-")] = a.split("=", 1)[1]
    try:
        dns_port = int(values.get("dns.port", 53))
        base = Path(cwd) if cwd else Path.cwd()
        conf = Path(values["conf"]) if "conf" in values else Path("Corefile")
        conf = conf if conf.is_absolute() else base / conf
        if not conf.exists():
            return set() if "conf" in values else {dns_port}
        variables = {**os.environ, **(env or {})}
        text = re.sub(r"\{\$(\w+)\}|\{%(\w+)%\}", lambda m: variables.get(m.group(1) or m.group(2), ""),
                      conf.read_text())
        ports: set[int] = set()
        depth, keys, has_tls = 0, [], False
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if depth == 0 and line.endswith("{") and not line.startswith("("):
                keys, has_tls = line[:-1].replace(",", " ").split(), False
            elif depth == 1 and (line == "tls" or line.startswith("tls ")):
                has_tls = True
            depth += line.count("{") - line.count("}")
            if depth == 0 and keys:
                if not has_tls:
                    for key in keys:
                        scheme, _, rest = key.rpartition("://")
                        if scheme in ("", "dns"):
                            port = re.search(r":(\d+)$", rest)
                            ports.add(int(port.group(1)) if port else dns_port)
                keys = []
        return ports
    except (OSError, ValueError):
        return set()


def start_dnsgrpcd(*args: str, log_dir: Path, wait_for: list[str] | None = None,
                   timeout: float = READY_TIMEOUT, env: dict[str, str] | None = None,
                   name: str = "dnsgrpcd", cwd: Path | None = None) -> Dnsgrpcd:
    """Starts dnsgrpcd with `args` (in `cwd`, default the current directory) and waits until each address in
    `wait_for` accepts TCP connections, and for a DNS listener (--dns, or a plain DNS block of the Corefile) until
    its UDP socket is bound too: dnsgrpcd binds a listener's TCP socket first, so a query sent over UDP as soon as
    TCP accepts could find no socket (and, ICMP port unreachable being lost on an unconnected socket, time out).

    `wait_for` defaults to every --grpc and --dns address in `args`; pass [] to not wait."""
    args = [str(a) for a in args]
    argv = [str(dnsgrpcd_binary()), *args]
    log_dir = Path(log_dir)
    log_path = log_dir / f"{name}-{time.monotonic_ns()}.log"
    proc = Dnsgrpcd(name, argv, log_path, env=env, cwd=cwd)
    try:
        udp_addresses = {split_hostport(v) for o, v in zip(args, args[1:]) if o == "--dns"} \
            | {split_hostport(a.split("=", 1)[1]) for a in args if a.startswith("--dns=")}
        udp_ports = _corefile_dns_ports(args, env, cwd)
        for addr in (listen_addresses(args) if wait_for is None else wait_for):
            host, port = split_hostport(addr)
            proc.wait_for_port(host, port, timeout=timeout)
            if (host, port) in udp_addresses or port in udp_ports:
                proc.wait_for_udp(host, port, timeout=timeout)
    except BaseException:
        proc.kill()
        raise
    return proc


def run_dnsgrpcd(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
                 timeout: float = READY_TIMEOUT) -> subprocess.CompletedProcess:
    """Runs dnsgrpcd to completion (for start-up failures) and returns its exit code and output.

    A dnsgrpcd that is still running after `timeout` is killed and reported: a start-up failure must exit."""
    argv = [str(dnsgrpcd_binary()), *map(str, args)]
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=child_env(env),
                              cwd=cwd, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise ProcessError(f"{' '.join(argv)} was still running after {timeout}s; expected it to exit\n"
                           f"stdout: {e.stdout}\nstderr: {e.stderr}") from None


def wait_until(predicate, timeout: float, what: str = "condition", interval: float = 0.1):
    """Calls `predicate` until it returns a true value (returned) or `timeout` passes (AssertionError with the last
    value or exception)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = predicate()
            if value:
                return value
            last = value
        except Exception as e:  # noqa: BLE001 - retried until the deadline, then reported
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not met within {timeout}s (last: {last!r})")
        time.sleep(interval)


def example_corefile(name: str) -> Path:
    """examples/<name> (a Corefile of the examples folder)."""
    return REPO / "examples" / name


def write_corefile(directory: Path, text: str, name: str = "Corefile") -> Path:
    """Writes `text` (dedented) as `directory/name` and returns the path, for `dnsgrpcd -conf PATH`."""
    import textwrap
    path = Path(directory) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def established_connections(port: int, host: str = "127.0.0.1") -> int:
    """How many established TCP connections from this machine go to host:port right now (IPv4, /proc/net/tcp)."""
    want = f"{socket.htonl(int.from_bytes(socket.inet_aton(host), 'big')):08X}:{port:04X}"
    count = 0
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            # fields: sl local_address rem_address st ...; st 01 = ESTABLISHED
            if fields[2] == want and fields[3] == "01":
                count += 1
    return count


# --- knotd ---------------------------------------------------------------------------------------------------------

def render_knot_conf(port: int, work_dir: Path, zone_dir: Path = ZONE_DIR) -> str:
    """examples/knot.conf.in filled in; creates work_dir/run and work_dir/storage."""
    work_dir = Path(work_dir).resolve()
    (work_dir / "run").mkdir(parents=True, exist_ok=True)
    (work_dir / "storage").mkdir(parents=True, exist_ok=True)
    text = KNOT_CONF_TEMPLATE.read_text()
    for key, value in (("@PORT@", str(port)), ("@DIR@", str(work_dir)), ("@ZONEDIR@", str(Path(zone_dir).resolve()))):
        text = text.replace(key, value)
    return text


class Knotd(Process):
    port: int

    @property
    def addr(self) -> str:
        return join_hostport("127.0.0.1", self.port)


def start_knotd(work_dir: Path, port: int | None = None, timeout: float = READY_TIMEOUT) -> Knotd:
    """Starts knotd in the foreground on 127.0.0.1:port serving example.org, and waits until it answers SOA."""
    work_dir = Path(work_dir)
    port = port or free_port()
    conf = work_dir / "knot.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(render_knot_conf(port, work_dir))
    knotd = shutil.which("knotd") or "/usr/sbin/knotd"
    proc = Knotd("knotd", [knotd, "-c", str(conf)], work_dir / "knotd.log")
    proc.port = port
    try:
        wait_for_dns("127.0.0.1", port, ZONE, "SOA", proc=proc, timeout=timeout)
    except BaseException:
        proc.kill()
        raise
    return proc


def wait_for_dns(host: str, port: int, name: str, rdtype: str = "SOA", proc: Process | None = None,
                 timeout: float = READY_TIMEOUT) -> None:
    """Waits until a UDP query for name/rdtype is answered NOERROR with an answer.

    Also a warm-up: a forwarder's first query may wait for its upstream connection (gRPC, TLS), which a loaded
    machine can make slower than an exchange timeout; once this returns, that connection is up. Each try waits
    longer than the last (0.5 s, doubling to 4 s), so that a slow machine's answers are heard too."""
    import dns.message
    import dns.query
    import dns.rcode

    deadline = time.monotonic() + timeout
    last = "no reply"
    attempt = 0.5
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise ProcessError(f"{proc.name} exited with {proc.popen.returncode}\n{proc.describe()}")
        try:
            try_for = min(attempt, max(0.1, deadline - time.monotonic()))
            attempt = min(attempt * 2, 4.0)
            reply = dns.query.udp(dns.message.make_query(name, rdtype), host, port=port, timeout=try_for)
            if reply.rcode() == dns.rcode.NOERROR and reply.answer:
                return
            last = f"rcode {dns.rcode.to_text(reply.rcode())}, {len(reply.answer)} answer RRsets"
        except Exception as e:  # timeouts and refused ports while it starts
            last = repr(e)
        time.sleep(0.1)
    extra = f"\n{proc.describe()}" if proc is not None else ""
    raise ProcessError(f"{join_hostport(host, port)} did not answer {name} {rdtype} within {timeout}s "
                       f"(last: {last}){extra}")


# --- the Python DnsService server (dns_grpc_server.py) -------------------------------------------------------------

class DnsGrpcServer(Process):
    port: int
    tag: str

    @property
    def addr(self) -> str:
        return join_hostport("127.0.0.1", self.port)


def start_dns_grpc_server(log_dir: Path, tag: str = "a", port: int | None = None, extra_args: tuple[str, ...] = (),
                          timeout: float = READY_TIMEOUT) -> DnsGrpcServer:
    """Starts dns_grpc_server.py on 127.0.0.1:port (a free one by default) and waits until it accepts."""
    port = port or free_port()
    argv = [sys.executable, str(DNS_GRPC_SERVER), "--port", str(port), "--tag", tag, *extra_args]
    proc = DnsGrpcServer(f"dns_grpc_server[{tag}]", argv,
                         Path(log_dir) / f"dns_grpc_server-{tag}-{time.monotonic_ns()}.log")
    proc.port, proc.tag = port, tag
    try:
        proc.wait_for_port("127.0.0.1", port, timeout=timeout)
    except BaseException:
        proc.kill()
        raise
    return proc


# --- gRPC stubs and client -----------------------------------------------------------------------------------------

def _stub_stamp() -> str:
    import grpc_tools
    from importlib.metadata import version
    digest = hashlib.sha256(PROTO.read_bytes()).hexdigest()
    return f"grpcio-tools {version('grpcio-tools')} {Path(grpc_tools.__file__).parent} dns.proto {digest}\n"


def generate_stubs(out: Path = GENERATED) -> Path:
    """Generates dns_pb2.py / dns_pb2_grpc.py from Protos/dns.proto into `out` unless they are current.

    Written to a temporary folder first and moved in, so concurrent runs never see half a file."""
    stamp = _stub_stamp()
    stamp_file = out / "STAMP"
    if stamp_file.exists() and stamp_file.read_text() == stamp and (out / "dns_pb2.py").exists() \
            and (out / "dns_pb2_grpc.py").exists():
        return out
    from grpc_tools import protoc
    import grpc_tools

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        well_known = Path(grpc_tools.__file__).parent / "_proto"
        rc = protoc.main(["grpc_tools.protoc", f"-I{PROTO_DIR}", f"-I{well_known}", f"--python_out={tmp}",
                          f"--grpc_python_out={tmp}", str(PROTO)])
        if rc != 0:
            raise RuntimeError(f"grpc_tools.protoc failed ({rc}) on {PROTO}")
        for name in ("dns_pb2.py", "dns_pb2_grpc.py"):
            os.replace(Path(tmp) / name, out / name)
        Path(tmp, "STAMP").write_text(stamp)
        os.replace(Path(tmp) / "STAMP", stamp_file)
    return out


def load_dns_pb2():
    """Generates the stubs if needed, puts them on sys.path and returns the dns_pb2 module."""
    out = str(generate_stubs())
    if out not in sys.path:
        sys.path.insert(0, out)
    importlib.invalidate_caches()
    return importlib.import_module("dns_pb2")


def load_dns_pb2_grpc():
    load_dns_pb2()
    return importlib.import_module("dns_pb2_grpc")


# Loopback only: never go through a proxy, and fail fast rather than wait for a server that is not there.
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0), ("grpc.max_receive_message_length", 8 * 1024 * 1024)]


class DnsServiceClient:
    """A DnsService client on one channel: `query` wraps bytes in a DnsPacket, `call_raw` sends bytes as they are."""

    def __init__(self, addr: str, credentials=None, server_name: str | None = None):
        """Plaintext unless `credentials` (see tls_channel_credentials); `server_name` overrides the name the
        server certificate is checked against (and sent as SNI)."""
        import grpc
        pb2 = load_dns_pb2()
        self.addr = addr
        self._packet = pb2.DnsPacket
        if credentials is None:
            self.channel = grpc.insecure_channel(addr, options=CHANNEL_OPTIONS)
        else:
            options = list(CHANNEL_OPTIONS)
            if server_name:
                options.append(("grpc.ssl_target_name_override", server_name))
            self.channel = grpc.secure_channel(addr, credentials, options=options)
        self._query = self.channel.unary_unary(METHOD, request_serializer=pb2.DnsPacket.SerializeToString,
                                               response_deserializer=pb2.DnsPacket.FromString)
        # No serializers: the request goes on the wire byte for byte, the response comes back as bytes.
        self._raw = self.channel.unary_unary(METHOD)

    def query(self, msg: bytes, timeout: float = CALL_TIMEOUT) -> bytes:
        """Reply bytes, or raises grpc.RpcError."""
        return self._query(self._packet(msg=msg), timeout=timeout).msg

    def query_future(self, msg: bytes, timeout: float = CALL_TIMEOUT):
        """A grpc.Future whose result() is a DnsPacket."""
        return self._query.future(self._packet(msg=msg), timeout=timeout)

    def call_raw(self, request: bytes, timeout: float = CALL_TIMEOUT) -> bytes:
        return self._raw(request, timeout=timeout)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> "DnsServiceClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def grpc_query(addr: str, msg: bytes, timeout: float = CALL_TIMEOUT, credentials=None,
               server_name: str | None = None) -> bytes:
    """One Query call on a fresh channel (TLS with `credentials`): reply bytes, or raises grpc.RpcError."""
    with DnsServiceClient(addr, credentials=credentials, server_name=server_name) as client:
        return client.query(msg, timeout=timeout)


# --- TLS (certs/) --------------------------------------------------------------------------------------------------

def cert_path(name: str) -> Path:
    """A file of the test PKI, e.g. cert_path("ca.pem")."""
    path = CERTS / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run certs/make-certs.sh")
    return path


def tls_channel_credentials(ca: str | None = "ca.pem", cert: str | None = None, key: str | None = None):
    """grpcio channel credentials from the test PKI: the server verified with `ca` (None: grpcio's default
    roots), and a client certificate when `cert` and `key` are given."""
    import grpc
    read = lambda name: cert_path(name).read_bytes() if name else None  # noqa: E731
    return grpc.ssl_channel_credentials(root_certificates=read(ca), private_key=read(key),
                                        certificate_chain=read(cert))


class Unbound(Process):
    port: int

    @property
    def addr(self) -> str:
        return join_hostport("127.0.0.1", self.port)


def start_unbound_dot(work_dir: Path, forward_to: str, port: int | None = None, cert: str = "server.pem",
                      key: str = "server-key.pem", timeout: float = READY_TIMEOUT) -> Unbound:
    """Starts unbound serving DNS over TLS only, on 127.0.0.1:port with a certificate of the test PKI, forwarding
    every query to `forward_to` (HOST:PORT, e.g. knotd); waits until its TLS port accepts connections."""
    work_dir = Path(work_dir).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    fwd_host, fwd_port = split_hostport(forward_to)
    conf = work_dir / "unbound.conf"
    conf.write_text(f"""server:
    interface: 127.0.0.1@{port}
    tls-port: {port}
    tls-service-key: "{cert_path(key)}"
    tls-service-pem: "{cert_path(cert)}"
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "{work_dir}"
    pidfile: "{work_dir}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    num-threads: 1
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    cache-max-ttl: 0
    cache-max-negative-ttl: 0
remote-control:
    control-enable: no
forward-zone:
    name: "."
    forward-addr: {fwd_host}@{fwd_port}
""")
    unbound = shutil.which("unbound") or "/usr/sbin/unbound"
    proc = Unbound("unbound", [unbound, "-d", "-c", str(conf)], work_dir / "unbound.log")
    proc.port = port
    try:
        proc.wait_for_port("127.0.0.1", port, timeout=timeout)
    except BaseException:
        proc.kill()
        raise
    return proc


def kdig(server: str, name: str, rdtype: str = "A", *options: str, timeout: float = 30.0) -> DigResult:
    """Asks `server` (HOST:PORT) with Knot's kdig (e.g. options "+tls", "+tls-ca=...") and parses status, answer
    and authority sections; raises RuntimeError when kdig gets no answer (a refused TLS handshake, say)."""
    host, port = split_hostport(server)
    # kdig prints section titles only in its full output, which the parser needs. A refused handshake fails at
    # once; the 5 s per try only bounds a loaded machine's slow one.
    argv = ["kdig", "+time=5", "+retry=1", f"@{host}", "-p", str(port), name, rdtype, *options]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return parse_dig_output(done.stdout, argv)


# --- DNS comparison helpers ----------------------------------------------------------------------------------------

def rr_set(rrsets) -> frozenset[tuple[str, str, str, str]]:
    """RRsets as a set of (owner, class, type, rdata): owner names lower-cased, TTLs left out."""
    import dns.rdataclass
    import dns.rdatatype
    out = set()
    for rrset in rrsets:
        for rd in rrset:
            out.add((rrset.name.to_text().lower(), dns.rdataclass.to_text(rrset.rdclass),
                     dns.rdatatype.to_text(rrset.rdtype), rd.to_text()))
    return frozenset(out)


class DigResult:
    def __init__(self, rcode: str, answer: frozenset, authority: frozenset, text: str):
        self.rcode, self.answer, self.authority, self.text = rcode, answer, authority, text

    def __repr__(self) -> str:
        return f"DigResult({self.rcode}, answer={sorted(self.answer)}, authority={sorted(self.authority)})"


def dig(server: str, name: str, rdtype: str = "A", *options: str, timeout: float = 30.0) -> DigResult:
    """Asks `server` (HOST:PORT) with the real dig and parses status, answer and authority sections.

    5 s per try bounds a loaded machine's slow answer (a forwarder's reply to an upstream's failure comes within
    its 5 s request deadline); options given later (e.g. "+time=8", "+tries=1") override these."""
    host, port = split_hostport(server)
    argv = ["dig", "+noall", "+comments", "+answer", "+authority", "+time=5", "+tries=2",
            f"@{host}", "-p", str(port), name, rdtype, *options]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return parse_dig_output(done.stdout, argv)


def parse_dig_output(stdout: str, argv: list[str]) -> DigResult:
    """The status, answer and authority of dig's or kdig's output (both print `status: X` and `;; X SECTION:`)."""
    import dns.message
    status = re.search(r"status: ([A-Z]+)", stdout)
    if not status:
        raise RuntimeError(f"no status in the output of {' '.join(argv)}:\n{stdout}")
    sections: dict[str, list[str]] = {"ANSWER": [], "AUTHORITY": []}
    current = None
    for line in stdout.splitlines():
        header = re.match(r";; (\w+) SECTION:", line)
        if header:
            current = header.group(1)
        elif not line.strip():
            current = None
        elif current in sections and not line.startswith(";"):
            sections[current].append(line)
    # dnspython reads dig's RR lines as the sections of a message in text form (where a blank line ends it).
    text = "\n".join(["id 1", "opcode QUERY", "rcode NOERROR", "flags QR", ";ANSWER", *sections["ANSWER"],
                      ";AUTHORITY", *sections["AUTHORITY"]]) + "\n"
    msg = dns.message.from_text(text)
    return DigResult(status.group(1), rr_set(msg.answer), rr_set(msg.authority), stdout)


# --- operations endpoints: /metrics, /health, /ready, grpc.health.v1 --------------------------------------------------

def http_get(addr: str, path: str, timeout: float = CALL_TIMEOUT) -> tuple[int, str]:
    """(status, body) of GET http://addr/path; raises OSError when nothing answers."""
    import http.client
    host, port = split_hostport(addr)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def wait_for_http(addr: str, path: str, status: int, timeout: float = READY_TIMEOUT,
                  proc: Process | None = None) -> str:
    """Polls GET addr/path until it answers `status`; returns the body. Fails early if `proc` exits."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise ProcessError(f"{proc.name} exited with {proc.popen.returncode}\n{proc.describe()}")
        try:
            got, body = http_get(addr, path)
            if got == status:
                return body
            last = f"{got} {body!r}"
        except OSError as e:
            last = repr(e)
        time.sleep(0.1)
    extra = f"\n{proc.describe()}" if proc is not None else ""
    raise ProcessError(f"http://{addr}{path} did not answer {status} within {timeout}s (last: {last}){extra}")


class Metrics:
    """One scrape of /metrics, parsed with prometheus_client's parser (so a format error fails the test)."""

    def __init__(self, text: str):
        from prometheus_client.parser import text_string_to_metric_families
        self.text = text
        self.families = {family.name: family for family in text_string_to_metric_families(text)}
        self.samples = [sample for family in self.families.values() for sample in family.samples]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples called `name` whose labels include `labels` (0 when there is none)."""
        return sum(s.value for s in self.samples
                   if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))

    def labelsets(self, name: str) -> list[dict[str, str]]:
        return [dict(s.labels) for s in self.samples if s.name == name]


def scrape(addr: str) -> Metrics:
    status, body = http_get(addr, "/metrics")
    if status != 200:
        raise AssertionError(f"/metrics on {addr} answered {status}: {body[:500]}")
    return Metrics(body)


def wait_for_metric(addr: str, name: str, minimum: float, timeout: float = READY_TIMEOUT,
                    **labels: str) -> Metrics:
    """Scrapes until `name{labels}` reaches `minimum` (for counters that background work moves)."""
    deadline = time.monotonic() + timeout
    metrics = scrape(addr)
    while metrics.value(name, **labels) < minimum:
        if time.monotonic() >= deadline:
            raise AssertionError(f"{name}{labels} stayed at {metrics.value(name, **labels)} < {minimum} "
                                 f"for {timeout}s")
        time.sleep(0.2)
        metrics = scrape(addr)
    return metrics


class SlowDnsServer:
    """A UDP DNS upstream inside the test process that answers every query with A 192.0.2.1 after `delay` seconds.

    Use as a context manager; it stops (and joins its threads, bounded) on exit."""

    def __init__(self, delay: float, host: str = "127.0.0.1"):
        import threading
        self.delay = delay
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.1)
        self.addr = join_hostport(host, self.sock.getsockname()[1])
        self.queries = 0
        self._stop = threading.Event()
        self._timers: list = []
        self._thread = threading.Thread(target=self._serve, name=f"slow-dns-{self.addr}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        import threading
        import dns.message
        import dns.rrset
        while not self._stop.is_set():
            try:
                wire, client = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(wire)
            except Exception:  # noqa: BLE001 - not DNS: ignore, like a server would
                continue
            self.queries += 1
            reply = dns.message.make_response(query)
            name = query.question[0].name
            reply.answer.append(dns.rrset.from_text(name, 60, "IN", "A", "192.0.2.1"))
            timer = threading.Timer(self.delay, self._send, args=(reply.to_wire(), client))
            timer.daemon = True
            self._timers.append(timer)
            timer.start()

    def _send(self, wire: bytes, client) -> None:
        try:
            self.sock.sendto(wire, client)
        except OSError:
            pass

    def close(self) -> None:
        self._stop.set()
        for timer in self._timers:
            timer.cancel()
        self._thread.join(timeout=2)
        self.sock.close()

    def __enter__(self) -> "SlowDnsServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def grpc_health_check(addr: str, service: str = "", timeout: float = CALL_TIMEOUT):
    """grpc.health.v1.Health/Check through grpcio-health-checking: the response's status (an enum value)."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    with grpc.insecure_channel(addr, options=CHANNEL_OPTIONS) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout).status


# --- tagged DNS responders (independent upstreams for the engine tests) ----------------------------------------------

class TaggedResponder:
    """A small DNS server on 127.0.0.1 (UDP and TCP on one port) that tags its answers, for engine tests.

    Every TXT query is answered with TXT "tag=NAME" (other types: NOERROR, no answer). It counts what it saw:
    `queries` (client queries), `checks` (health checks, `. IN NS`), `udp_ports` (source ports of UDP queries),
    `tcp_accepted` and `tcp_open` (connections), `in_flight` and `most_in_flight` (client queries received and not
    yet answered: now, and the most at any one time), and `names` (the client queries' names, in order). It can
    be stopped and started again on the same port, slowed (`delay`, seconds, per query, without blocking other
    queries) and made to misbehave (`mode`):
      "wrong_id_first"        a reply with another ID (tag=spoof) first, then the right one
      "wrong_question_first"  a reply for another name with the right ID (tag=spoof) first, then the right one
      "wrong_question_only"   only the reply for another name (tag=spoof)
      "garbage_first"         bytes that are no DNS message first, then the right one
      "other_source_first"    (UDP) a reply with the right ID and question (tag=spoof) from another port first,
                              then the right one from the server's port
      "big_reply"             the TXT answer carries 30 more 100-byte strings (a reply of about 3.5 KB, over UDP too)
      "huge_reply"            the same with 60 strings (about 6.5 KB, over UDP too)
It also records the query IDs it saw (`ids`).
    Health checks are always answered at once and normally. Every wait in here is bounded."""

    SPOOF_TAG = "spoof"

    def __init__(self, tag: str, port: int | None = None, delay: float = 0.0, mode: str = "normal"):
        import threading
        self.tag, self.delay, self.mode = tag, delay, mode
        self.port = port or free_port()
        self._lock = threading.Lock()
        self._threads: list = []
        self._conns: set = set()
        self._stop = None
        self._udp = self._tcp = None
        self.reset_counts()

    @property
    def addr(self) -> str:
        return join_hostport("127.0.0.1", self.port)

    def __repr__(self) -> str:
        return f"<TaggedResponder {self.tag} {self.addr} queries={self.queries} checks={self.checks}>"

    def reset_counts(self) -> None:
        with self._lock:
            self.queries = 0
            self.checks = 0
            self.udp_ports: set[int] = set()
            self.tcp_accepted = 0
            self.tcp_open = 0
            self.garbage = 0
            self.ids: list[int] = []
            self.names: list[str] = []
            self.in_flight = 0
            self.most_in_flight = 0

    # lifecycle

    def start(self) -> "TaggedResponder":
        import threading
        if self._stop is not None:
            return self
        self._stop = threading.Event()
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", self.port))
        udp.settimeout(0.05)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("127.0.0.1", self.port))
        tcp.listen(64)
        tcp.settimeout(0.05)
        self._udp, self._tcp = udp, tcp
        self._threads = [threading.Thread(target=self._serve_udp, args=(udp, self._stop), daemon=True),
                         threading.Thread(target=self._serve_tcp, args=(tcp, self._stop), daemon=True)]
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        """Closes the sockets (queries then get ICMP port unreachable / connection refused) and every connection."""
        if self._stop is None:
            return
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in list(self._threads):
            t.join(timeout=2)
        self._udp.close()
        self._tcp.close()
        self._stop = None

    def __enter__(self) -> "TaggedResponder":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # answers

    def _answers(self, wire: bytes) -> tuple[bool, list[bytes]]:
        """(is a health check, the datagrams/frames to send: possibly a spoofed one first; [] for garbage)."""
        import dns.message
        import dns.name
        import dns.rdatatype
        import dns.rrset
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            with self._lock:
                self.garbage += 1
            return False, []
        q = query.question[0] if query.question else None
        is_check = q is not None and q.rdtype == dns.rdatatype.NS and q.name == dns.name.root
        with self._lock:
            if is_check:
                self.checks += 1
            else:
                self.queries += 1
                self.ids.append(query.id)
                if q is not None:
                    self.names.append(q.name.to_text())

        def reply(tag: str, name=None, id_=None) -> bytes:
            r = dns.message.make_response(query)
            if q is not None and q.rdtype == dns.rdatatype.TXT:
                texts = [f'"tag={tag}"']
                if self.mode in ("big_reply", "huge_reply"):
                    count = 30 if self.mode == "big_reply" else 60
                    texts += [f'"{i:03d}{"x" * 96}"' for i in range(count)]
                r.answer.append(dns.rrset.from_text_list(name or q.name, 60, "IN", "TXT", texts))
            if name is not None:
                r.question = [dns.rrset.RRset(name, q.rdclass, q.rdtype)]
            if id_ is not None:
                r.id = id_
            # The big modes answer whole whatever size the query offered, as an upstream that ignores EDNS would,
            # so that the forwarder's own truncation to its client's size is what is tested.
            return r.to_wire(max_size=65535) if self.mode in ("big_reply", "huge_reply") else r.to_wire()

        right = reply(self.tag)
        if is_check or self.mode in ("normal", "big_reply", "huge_reply") or q is None:
            return is_check, [right]
        other = dns.name.from_text("spoof-" + str(q.name.labels[0], "ascii", "replace") + ".invalid.")
        if self.mode == "wrong_id_first":
            return False, [reply(self.SPOOF_TAG, id_=(query.id + 1) % 65536), right]
        if self.mode == "wrong_question_first":
            return False, [reply(self.SPOOF_TAG, name=other), right]
        if self.mode == "wrong_question_only":
            return False, [reply(self.SPOOF_TAG, name=other)]
        if self.mode == "garbage_first":
            return False, [b"\x00\x01garbage", right]
        if self.mode == "other_source_first":
            return False, [reply(self.SPOOF_TAG), right]
        raise ValueError(f"unknown responder mode {self.mode!r}")

    def _later(self, stop, send, wire: bytes, send_first=None) -> None:
        """Answers one query, after `delay` in a thread of its own when slowed (health checks at once);
        `send_first`, when given, sends the first of several answers (the spoofed one)."""
        import threading

        def run(answers):
            for i, answer in enumerate(answers):
                if stop.is_set():
                    return
                if i:
                    stop.wait(0.02)  # the right reply a moment after the spoofed one
                try:
                    (send_first if i == 0 and len(answers) > 1 and send_first else send)(answer)
                except OSError:
                    return

        def answered() -> None:
            with self._lock:
                self.in_flight -= 1

        is_check, answers = self._answers(wire)
        counted = bool(answers) and not is_check
        if counted:
            with self._lock:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if self.delay and not is_check:
            def slow():
                try:
                    if not stop.wait(self.delay):
                        run(answers)
                finally:
                    if counted:
                        answered()
            threading.Thread(target=slow, daemon=True).start()
        else:
            try:
                run(answers)
            finally:
                if counted:
                    answered()

    def _serve_udp(self, sock, stop) -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(65535)
            except (socket.timeout, BlockingIOError):
                continue
            except OSError:
                return
            with self._lock:
                self.udp_ports.add(peer[1])
            send_first = None
            if self.mode == "other_source_first":
                def send_first(data: bytes, peer=peer) -> None:
                    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
                        other.bind(("127.0.0.1", 0))
                        other.sendto(data, peer)
            self._later(stop, lambda data, peer=peer: sock.sendto(data, peer), wire, send_first)

    def _serve_tcp(self, sock, stop) -> None:
        import threading
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except (socket.timeout, BlockingIOError):
                continue
            except OSError:
                return
            with self._lock:
                self.tcp_accepted += 1
                self.tcp_open += 1
                self._conns.add(conn)
            t = threading.Thread(target=self._serve_conn, args=(conn, stop), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve_conn(self, conn, stop) -> None:
        import threading
        send_lock = threading.Lock()

        def send(data: bytes) -> None:
            with send_lock:
                conn.sendall(len(data).to_bytes(2, "big") + data)

        conn.settimeout(0.05)
        buffer = b""
        try:
            while not stop.is_set():
                try:
                    chunk = conn.recv(65535)
                except socket.timeout:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                buffer += chunk
                while len(buffer) >= 2 and len(buffer) >= 2 + int.from_bytes(buffer[:2], "big"):
                    size = int.from_bytes(buffer[:2], "big")
                    wire, buffer = buffer[2:2 + size], buffer[2 + size:]
                    self._later(stop, send, wire)
        finally:
            conn.close()
            with self._lock:
                self.tcp_open -= 1
                self._conns.discard(conn)



def txt_tag(reply) -> str | None:
    """The NAME of the first TXT "tag=NAME" in a dnspython reply's answer, or None."""
    for rrset in reply.answer:
        for rd in rrset:
            text = b"".join(getattr(rd, "strings", ())).decode("ascii", "replace")
            if text.startswith("tag="):
                return text[4:]
    return None


def forward_corefile(listen_port: int, upstreams: list[str], options: list[str] | tuple[str, ...] = (),
                     zone: str = ".", plugins: list[str] | tuple[str, ...] = ()) -> str:
    """A Corefile with one block on 127.0.0.1:listen_port forwarding `zone` to `upstreams` with `options`, after
    `plugins` (directive lines such as "prometheus 127.0.0.1:PORT")."""
    body = "".join(f"        {o}\n" for o in options)
    block = f" {{\n{body}    }}" if options else ""
    extra = "".join(f"    {p}\n" for p in plugins)
    return (f".:{listen_port} {{\n    bind 127.0.0.1\n{extra}"
            f"    forward {zone} {' '.join(upstreams)}{block}\n}}\n")


# --- command line for shell scripts --------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("free-port", help="print a port free for TCP and UDP on 127.0.0.1")
    kc = sub.add_parser("knot-conf", help="print knotd's configuration for example.org")
    kc.add_argument("--port", type=int, required=True)
    kc.add_argument("--dir", type=Path, required=True, help="scratch folder for knotd's rundir and storage")
    sub.add_parser("stubs", help="generate the Python gRPC stubs and print their folder")
    args = parser.parse_args(argv)
    if args.cmd == "free-port":
        print(free_port())
    elif args.cmd == "knot-conf":
        sys.stdout.write(render_knot_conf(args.port, args.dir))
    elif args.cmd == "stubs":
        print(generate_stubs())
    return 0


if __name__ == "__main__":
    sys.exit(main())
