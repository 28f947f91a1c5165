"""The operator's command line: `dnsgrpcd query` against every listener kind and TLS variant (its answers compared
with dig's, kdig's and grpcio's), `-validate`, `-pidfile`, `-quiet`, systemd's notify protocol around start, reload and
stop, and readiness that needs no client traffic."""

from __future__ import annotations

import os
import signal
import socket
import time

import dns.message
import dns.rcode
import pytest

import support
from test_corefile import MALFORMED

C = support.cert_path
NO_REPLY = 9  # dnsgrpcd query's (and dig's) status when no reply came

QUERIES = [
    ("www.example.org.", "A"),
    ("example.org.", "MX"),
    ("ftp.example.org.", "A"),  # CNAME inside the zone
    ("nope.example.org.", "A"),  # NXDOMAIN, SOA in authority
    ("big.example.org.", "TXT"),  # ~900 bytes
]
QUERY_IDS = [f"{n}{t}" for n, t in QUERIES]


def query(server: str, name: str, rdtype: str = "A", *options: str):
    """Runs `dnsgrpcd query @server name rdtype options...` to completion."""
    return support.run_dnsgrpcd("query", f"@{server}", name, rdtype, *options, timeout=60)


def parsed(done) -> support.DigResult:
    assert done.returncode in (0, 1), f"exit {done.returncode}\n{done.stdout}{done.stderr}"
    result = support.parse_dig_output(done.stdout, ["dnsgrpcd", "query"])
    # 0 for NOERROR, 1 for any other status: a script can tell a DNS error from success.
    assert done.returncode == (0 if result.rcode == "NOERROR" else 1), done.stdout
    return result


def assert_same(got: support.DigResult, expected: support.DigResult) -> None:
    assert (got.rcode, got.answer, got.authority) == (expected.rcode, expected.answer, expected.authority), \
        f"{got.text}\n--- expected ---\n{expected.text}"


def grpc_answer(addr: str, name: str, rdtype: str, credentials=None) -> support.DigResult:
    """What grpcio (an independent gRPC client) gets from a DnsService listener, in DigResult's shape."""
    wire = support.grpc_query(addr, dns.message.make_query(name, rdtype).to_wire(), timeout=10,
                              credentials=credentials, server_name="localhost" if credentials else None)
    reply = dns.message.from_wire(wire)
    return support.DigResult(dns.rcode.to_text(reply.rcode()), support.rr_set(reply.answer),
                             support.rr_set(reply.authority), reply.to_text())


# --- dnsgrpcd query against every listener kind ------------------------------------------------------------------------

LISTENERS = ("dns", "dot", "dot_mtls", "grpc", "grpc_tls", "grpc_mtls", "doh")


@pytest.fixture(scope="module")
def listeners(knot, module_processes, tmp_path_factory) -> dict[str, str]:
    """One dnsgrpcd with a listener of each kind and TLS variant, every one forwarding to knot."""
    ports = {kind: support.free_port() for kind in LISTENERS}
    server, key, ca = C("server.pem"), C("server-key.pem"), C("ca.pem")
    blocks = {
        "dns": f"dns://.:{ports['dns']}",
        "dot": f"tls://.:{ports['dot']}", "dot_mtls": f"tls://.:{ports['dot_mtls']}",
        "grpc": f"grpc://.:{ports['grpc']}", "grpc_tls": f"grpc://.:{ports['grpc_tls']}",
        "grpc_mtls": f"grpc://.:{ports['grpc_mtls']}", "doh": f"https://.:{ports['doh']}",
    }
    tls = {"dot": f"tls {server} {key}", "dot_mtls": f"tls {server} {key} {ca}",
           "grpc_tls": f"tls {server} {key}", "grpc_mtls": f"tls {server} {key} {ca}", "doh": f"tls {server} {key}"}
    text = "".join(f"{key_} {{\n    bind 127.0.0.1\n    {tls.get(kind, '')}\n    forward . {knot.addr}\n}}\n"
                   for kind, key_ in blocks.items())
    work = tmp_path_factory.mktemp("cli-listeners")
    corefile = support.write_corefile(work, text)
    module_processes(support.start_dnsgrpcd("-conf", corefile, log_dir=work, name="listeners",
                                            wait_for=[f"127.0.0.1:{p}" for p in ports.values()]))
    return {kind: f"127.0.0.1:{port}" for kind, port in ports.items()}


@pytest.mark.parametrize("name,rdtype", QUERIES, ids=QUERY_IDS)
def test_query_over_udp_and_tcp_answers_as_dig(listeners, name, rdtype):
    expected = support.dig(listeners["dns"], name, rdtype)
    assert_same(parsed(query(listeners["dns"], name, rdtype)), expected)
    tcp = query(f"dns://{listeners['dns']}", name, rdtype, "+tcp")
    assert "(TCP)" in tcp.stdout
    assert_same(parsed(tcp), expected)


def test_query_without_edns_retries_a_truncated_reply_over_tcp(listeners):
    expected = support.dig(listeners["dns"], "big.example.org.", "TXT", "+tcp")
    done = query(listeners["dns"], "big.example.org.", "TXT", "+bufsize=0")
    assert "Truncated, retrying in TCP mode" in done.stdout and "(TCP)" in done.stdout
    assert "OPT PSEUDOSECTION" not in done.stdout
    assert_same(parsed(done), expected)


def test_query_sets_do_and_the_buffer_size_it_is_given(listeners, knot):
    done = query(listeners["dns"], "www.example.org.", "A", "+dnssec", "--bufsize", "4096")
    assert "flags: do;" in done.stdout, done.stdout
    assert parsed(done).rcode == "NOERROR"


# kdig's options for each DoT variant, and ours.
DOT_VARIANTS = {
    "ca": ("dot", (f"+tls-ca={C('ca.pem')}", "+tls-hostname=localhost"),
           ("--tls-ca", C("ca.pem"), "--tls-servername", "localhost")),
    "mutual": ("dot_mtls", (f"+tls-ca={C('ca.pem')}", "+tls-hostname=localhost", f"+tls-certfile={C('client.pem')}",
                            f"+tls-keyfile={C('client-key.pem')}"),
               ("--tls-ca", C("ca.pem"), "--tls-servername", "localhost", "--tls-cert", C("client.pem"),
                "--tls-key", C("client-key.pem"))),
}


@pytest.mark.parametrize("variant", sorted(DOT_VARIANTS))
@pytest.mark.parametrize("name,rdtype", QUERIES[:4], ids=QUERY_IDS[:4])
def test_query_over_dot_answers_as_kdig(listeners, variant, name, rdtype):
    kind, kdig_options, ours = DOT_VARIANTS[variant]
    expected = support.kdig(listeners[kind], name, rdtype, *kdig_options)
    done = query(f"tls://{listeners[kind]}", name, rdtype, *ours)
    assert "(TLS)" in done.stdout
    assert_same(parsed(done), expected)


@pytest.mark.parametrize("name,rdtype", QUERIES, ids=QUERY_IDS)
def test_query_over_https_answers_as_kdig(listeners, name, rdtype):
    expected = support.kdig(listeners["doh"], name, rdtype, "+https", f"+tls-ca={C('ca.pem')}",
                            "+tls-hostname=localhost")
    done = query(f"https://{listeners['doh']}#localhost", name, rdtype, "--tls-ca", C("ca.pem"))
    assert "(HTTPS)" in done.stdout
    assert_same(parsed(done), expected)


def test_query_over_dot_takes_the_server_name_in_the_address(listeners, knot):
    done = query(f"tls://{listeners['dot']}#localhost", "www.example.org.", "A", "--tls-ca", C("ca.pem"))
    assert_same(parsed(done), support.dig(knot.addr, "www.example.org.", "A"))


# (A wrong server name is not among them: reached at an address its certificate names, the server verifies for that
# address, as RFC 6125 allows; test_tls.py checks names on an address the certificate does not name.)
@pytest.mark.parametrize("case", ["untrusted CA", "system CAs", "mTLS without certificate",
                                  "mTLS with another CA's certificate"])
def test_query_over_dot_that_does_not_verify_gets_no_reply(listeners, case):
    args = {
        "untrusted CA": ("dot", ("--tls-ca", C("other-ca.pem"), "--tls-servername", "localhost")),
        "system CAs": ("dot", ("--tls-servername", "localhost")),
        "mTLS without certificate": ("dot_mtls", ("--tls-ca", C("ca.pem"), "--tls-servername", "localhost")),
        "mTLS with another CA's certificate": ("dot_mtls", (
            "--tls-ca", C("ca.pem"), "--tls-servername", "localhost", "--tls-cert", C("other-client.pem"),
            "--tls-key", C("other-client-key.pem"))),
    }
    kind, options = args[case]
    done = query(f"tls://{listeners[kind]}", "www.example.org.", "A", *options, "+timeout=5")
    assert done.returncode == NO_REPLY, done.stdout + done.stderr
    assert "no reply" in done.stderr


GRPC_VARIANTS = {
    "plaintext": ("grpc", None, ()),
    "ca": ("grpc_tls", ("ca.pem", None, None), ("--tls-ca", C("ca.pem"), "--tls-servername", "localhost")),
    "mutual": ("grpc_mtls", ("ca.pem", "client.pem", "client-key.pem"),
               ("--tls-ca", C("ca.pem"), "--tls-servername", "localhost", "--tls-cert", C("client.pem"),
                "--tls-key", C("client-key.pem"))),
}


@pytest.mark.parametrize("variant", sorted(GRPC_VARIANTS))
@pytest.mark.parametrize("name,rdtype", QUERIES, ids=QUERY_IDS)
def test_query_over_grpc_answers_as_grpcio(listeners, variant, name, rdtype):
    kind, files, ours = GRPC_VARIANTS[variant]
    credentials = support.tls_channel_credentials(*files) if files else None
    expected = grpc_answer(listeners[kind], name, rdtype, credentials)
    done = query(f"grpc://{listeners[kind]}", name, rdtype, *ours)
    assert "(gRPC)" in done.stdout
    assert_same(parsed(done), expected)


def test_query_over_grpc_with_system_cas_and_client_certificate(listeners, knot):
    # gRPC core's "system CAs" are replaced by its own variable, so the CERT KEY variant (no CA argument) verifies.
    done = support.run_dnsgrpcd("query", f"@grpc://{listeners['grpc_mtls']}", "www.example.org.", "A",
                                "--tls-cert", C("client.pem"), "--tls-key", C("client-key.pem"),
                                "--tls-servername", "localhost",
                                env={"GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": C("ca.pem")}, timeout=60)
    assert_same(parsed(done), support.dig(knot.addr, "www.example.org.", "A"))


@pytest.mark.parametrize("case", ["plaintext to TLS", "TLS to plaintext", "mTLS without certificate"])
def test_query_over_grpc_that_cannot_connect_gets_no_reply(listeners, case):
    kind, options = {
        "plaintext to TLS": ("grpc_tls", ()),
        "TLS to plaintext": ("grpc", ("--tls-ca", C("ca.pem"), "--tls-servername", "localhost")),
        "mTLS without certificate": ("grpc_mtls", ("--tls-ca", C("ca.pem"), "--tls-servername", "localhost")),
    }[case]
    done = query(f"grpc://{listeners[kind]}", "www.example.org.", "A", *options, "+timeout=5")
    assert done.returncode == NO_REPLY, done.stdout + done.stderr


@pytest.mark.parametrize("args,words", [
    (("@example.com", "www.example.org"), "not an IP address"),
    (("@127.0.0.1", "www.example.org", "NOTATYPE"), "record type"),
    (("@127.0.0.1", "www.example.org", "--tls-cert", "x.pem"), "--tls-key"),
    (("@tls://127.0.0.1", "www.example.org", "--tls-ca", "/nonexistent/ca.pem"), "ca.pem"),
    (("@127.0.0.1", "www.example.org", "+bufsize=100"), "bufsize"),
])
def test_query_with_bad_arguments_says_what_is_wrong(args, words):
    done = support.run_dnsgrpcd("query", *args)
    assert done.returncode == 64, done
    assert words.lower() in done.stderr.lower(), done.stderr


def test_query_to_a_port_nobody_serves_gets_no_reply():
    done = query(f"127.0.0.1:{support.free_port()}", "www.example.org.", "A", "+timeout=1")
    assert done.returncode == NO_REPLY, done


# --- -validate ----------------------------------------------------------------------------------------------------

def example_env(port: int) -> dict[str, str]:
    """Every variable the examples read, with values that parse."""
    return {"CERTS": str(support.REPO / "certs"), "CORE_PORT": str(port), "EDGE_PORT": str(port),
            "DNS_PORT": str(port), "GRPC_PORT": str(port), "UPSTREAM": "127.0.0.1:53",
            "GRPC_UPSTREAM": "127.0.0.1:5553", "HOSTS_FILE": str(support.example_corefile("hosts-override/hosts")),
            **{f"UPSTREAM_{k}": "127.0.0.1:53" for k in "ABC"},
            # NodeLocal DNSCache and kubeadm: nothing is bound, so these ports need only differ from the DNS one.
            "DNS_DOMAIN": "cluster.local", "LOCAL_DNS": "127.0.0.1", "DNS_SERVER": "127.0.0.2",
            "CLUSTER_DNS": "127.0.0.1:53", "METRICS_PORT": "19253", "HEALTH_PORT": "18080", "READY_PORT": "18181",
            "DOH_PORT": "18443"}


def example_corefiles() -> list[str]:
    folder = support.REPO / "examples"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name.endswith("Corefile"))


@pytest.mark.parametrize("flag", ["-validate", "--check-config"])
@pytest.mark.parametrize("example", example_corefiles())
def test_validate_accepts_every_example_and_binds_nothing(example, flag):
    # The port is held by a listening socket of ours: a check that binds would fail on it.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        corefile = support.example_corefile(example)
        done = support.run_dnsgrpcd(flag, "-conf", corefile.name, env=example_env(port), cwd=corefile.parent)
    assert done.returncode == 0, done
    assert "configuration OK" in done.stdout, done.stdout


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_validate_reports_a_malformed_corefile_with_file_and_line(case, tmp_path):
    text, line, words = MALFORMED[case]
    corefile = tmp_path / "Corefile"
    corefile.write_text(text.format(port=support.free_port()))
    done = support.run_dnsgrpcd("-validate", "-conf", str(corefile))
    assert done.returncode != 0, done
    assert f"{corefile}:{line}:" in done.stderr, done.stderr
    assert words.lower() in done.stderr.lower(), done.stderr
    assert "configuration OK" not in done.stdout


# What only a check beyond the parser finds: unusable key material, a port two servers would share.
BEYOND_THE_PARSER = {
    "a certificate given as the key": (
        "tls://.:{port} {{\n    bind 127.0.0.1\n    tls {cert} {cert}\n    forward . 127.0.0.1\n}}\n", 3, "key"),
    "a client CA that is not PEM": (
        "grpc://.:{port} {{\n    bind 127.0.0.1\n    tls {cert} {key} {corefile}\n    forward . 127.0.0.1\n}}\n", 3,
        "ca"),
    "an upstream CA that is not PEM": (
        ".:{port} {{\n    bind 127.0.0.1\n    forward . tls://127.0.0.1 {{\n        tls {corefile}\n    }}\n}}\n",
        4, "ca"),
    "gRPC and DNS on one port": (
        ".:{port} {{\n    bind 127.0.0.1\n    whoami\n}}\ngrpc://.:{port} {{\n    bind 127.0.0.1\n"
        "    forward . 127.0.0.1\n}}\n", 5, "port"),
    "metrics on a listener's port": (
        "grpc://.:{port} {{\n    forward . 127.0.0.1\n}}\n.:{other} {{\n    prometheus :{port}\n    whoami\n}}\n", 4,
        "port"),
}


@pytest.mark.parametrize("case", sorted(BEYOND_THE_PARSER))
def test_validate_and_start_up_find_what_the_parser_cannot(case, tmp_path):
    text, line, words = BEYOND_THE_PARSER[case]
    corefile = tmp_path / "Corefile"
    corefile.write_text(text.format(port=support.free_port(), other=support.free_port(), cert=C("server.pem"),
                                    key=C("server-key.pem"), corefile=corefile))
    for args in (("-validate",), ()):
        done = support.run_dnsgrpcd(*args, "-conf", str(corefile))
        assert done.returncode == 1, done
        assert f"{corefile}:{line}:" in done.stderr, done.stderr
        assert words in done.stderr.lower(), done.stderr


# --- -pidfile and -quiet --------------------------------------------------------------------------------------------

def test_pidfile_holds_the_pid_while_serving_and_quiet_says_nothing_at_start(dnsgrpcd, tmp_path):
    port = support.free_port()
    pidfile = tmp_path / "run" / "dnsgrpcd.pid"
    pidfile.parent.mkdir()
    corefile = support.write_corefile(tmp_path, f".:{port} {{\n    bind 127.0.0.1\n    whoami\n}}\n")
    proc = dnsgrpcd("-conf", corefile, "-pidfile", pidfile, "-quiet", wait_for=[f"127.0.0.1:{port}"])
    support.wait_until(lambda: pidfile.exists(), timeout=30, what="the pid file is written")
    assert pidfile.read_text() == f"{proc.pid}\n"
    assert "listening on" not in proc.log() and "dnsgrpcd started" not in proc.log()
    proc.stop()
    assert not pidfile.exists()


def test_pidfile_that_cannot_be_written_stops_start_up(tmp_path):
    corefile = support.write_corefile(tmp_path, f".:{support.free_port()} {{\n    bind 127.0.0.1\n    whoami\n}}\n")
    done = support.run_dnsgrpcd("-conf", corefile, "-pidfile", tmp_path / "missing" / "dnsgrpcd.pid")
    assert done.returncode == 1 and "-pidfile" in done.stderr, done


def test_without_quiet_start_up_lists_the_listeners(dnsgrpcd, tmp_path):
    port = support.free_port()
    corefile = support.write_corefile(tmp_path, f".:{port} {{\n    bind 127.0.0.1\n    whoami\n}}\n")
    proc = dnsgrpcd("-conf", corefile, wait_for=[f"127.0.0.1:{port}"])
    support.wait_until(lambda: "dnsgrpcd started" in proc.log(), timeout=30, what="the start-up lines")
    assert f"listening on dns://127.0.0.1:{port}" in proc.log()


# --- systemd's notify protocol ---------------------------------------------------------------------------------------

class NotifySocket:
    """What systemd listens on for a Type=notify service: a unix datagram socket named by NOTIFY_SOCKET."""

    def __init__(self, address: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        # An abstract name is written with '@' in NOTIFY_SOCKET and with a NUL byte to bind.
        self.sock.bind("\0" + address[1:] if address.startswith("@") else address)
        self.address = address

    def next(self, timeout: float = 60.0) -> dict[str, str]:
        self.sock.settimeout(timeout)
        data = self.sock.recv(4096).decode()
        return dict(line.split("=", 1) for line in data.splitlines() if line)

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("kind", ["path", "abstract"])
def test_systemd_hears_ready_reloading_ready_and_stopping_in_order(dnsgrpcd, tmp_path, kind):
    address = str(tmp_path / "notify") if kind == "path" else f"@dnsgrpcd-test-{os.getpid()}-{time.monotonic_ns()}"
    notify = NotifySocket(address)
    try:
        port = support.free_port()
        corefile = support.write_corefile(tmp_path, f".:{port} {{\n    bind 127.0.0.1\n    whoami\n}}\n")
        proc = dnsgrpcd("-conf", corefile, wait_for=[], env={"NOTIFY_SOCKET": address})
        ready = notify.next()
        assert ready.get("READY") == "1" and ready.get("MAINPID") == str(proc.pid), ready
        # READY=1 comes once the listeners are bound: a query right after it is answered.
        reply = dns.query.udp(dns.message.make_query("example.org", "A"), "127.0.0.1", port=port, timeout=10)
        assert reply.rcode() == dns.rcode.NOERROR

        reload_then_stop(proc, notify)
    finally:
        notify.close()


def reload_then_stop(proc, notify: NotifySocket) -> None:
    """SIGHUP: RELOADING=1 with the monotonic time of the reload, then READY=1; SIGTERM: STOPPING=1, exit 0."""
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    os.kill(proc.pid, signal.SIGHUP)
    reloading = notify.next()
    assert reloading.get("RELOADING") == "1", reloading
    assert before <= int(reloading["MONOTONIC_USEC"]) <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert notify.next().get("READY") == "1"
    proc.popen.send_signal(signal.SIGTERM)
    assert notify.next().get("STOPPING") == "1"
    proc.stop()


def test_no_notify_socket_no_notifications_and_a_dead_one_is_not_fatal(dnsgrpcd, tmp_path):
    port = support.free_port()
    corefile = support.write_corefile(tmp_path, f".:{port} {{\n    bind 127.0.0.1\n    whoami\n}}\n")
    proc = dnsgrpcd("-conf", corefile, wait_for=[f"127.0.0.1:{port}"],
                    env={"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})
    support.wait_until(lambda: "cannot notify systemd" in proc.log(), timeout=30, what="the warning")
    reply = dns.query.udp(dns.message.make_query("example.org", "A"), "127.0.0.1", port=port, timeout=10)
    assert reply.rcode() == dns.rcode.NOERROR


# --- readiness without client traffic ----------------------------------------------------------------------------------

def test_ready_turns_200_without_client_traffic_in_front_of_a_slow_upstream(dnsgrpcd, tmp_path):
    with support.SlowDnsServer(delay=1.5) as slow:
        port, ready_port = support.free_port(), support.free_port()
        corefile = support.write_corefile(tmp_path, f"""
            .:{port} {{
                bind 127.0.0.1
                ready 127.0.0.1:{ready_port}
                forward . {slow.addr}
            }}
            """)
        proc = dnsgrpcd("-conf", corefile, wait_for=[f"127.0.0.1:{port}", f"127.0.0.1:{ready_port}"])
        # No client asks anything: the process's own probe of the upstream must make it ready.
        assert support.wait_for_http(f"127.0.0.1:{ready_port}", "/ready", 200, timeout=60, proc=proc) == "OK"
        assert slow.queries >= 1


def test_the_systemd_unit_starts_reloads_and_stops_as_systemd_would_run_it(tmp_path):
    """examples/dnsgrpcd.service's own command lines, with its paths moved here: ExecStartPre validates, ExecStart
    notifies READY=1, ExecReload's SIGHUP gives RELOADING=1 then READY=1, SIGTERM (KillSignal) gives STOPPING=1."""
    unit = {}
    for line in support.example_corefile("dnsgrpcd.service").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            unit.setdefault(key, value)
    assert unit["Type"] == "notify" and unit["KillSignal"] == "SIGTERM"
    assert unit["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert int(unit["LimitNOFILE"]) >= 65536

    port = support.free_port()
    corefile = support.write_corefile(tmp_path, f".:{port} {{\n    bind 127.0.0.1\n    whoami\n}}\n")

    def argv(command: str) -> list[str]:
        words = command.split()
        assert words[0] == "/usr/local/bin/dnsgrpcd"
        return [str(corefile) if w == "/etc/dnsgrpcd/Corefile" else w for w in words[1:]]

    pre = support.run_dnsgrpcd(*argv(unit["ExecStartPre"]))
    assert pre.returncode == 0, pre
    notify = NotifySocket(str(tmp_path / "notify"))
    proc = support.start_dnsgrpcd(*argv(unit["ExecStart"]), log_dir=tmp_path, wait_for=[],
                                  env={"NOTIFY_SOCKET": notify.address})
    try:
        assert notify.next().get("READY") == "1"
        reload_then_stop(proc, notify)
    finally:
        proc.kill()
        notify.close()
