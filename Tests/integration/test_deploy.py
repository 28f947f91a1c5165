"""The Kubernetes manifests in deploy/kubernetes (issue 21).

Every manifest validates against the Kubernetes API schemas of KUBERNETES_VERSIONS with kubernetes-validate in
strict mode (an unknown or misspelt field fails); the manifests agree with the Corefiles in their ConfigMaps (ports,
probes, scrape annotations, shutdown time, the image tag and the binary's release); and the Corefiles themselves run:
dig -> the node-local Corefile (DNS in, gRPC out) -> the gateway Corefile (gRPC in, DNS out) -> knotd, with only the
listening addresses moved to free ports of 127.0.0.1 and the cluster resolver replaced by knotd.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import dns.message
import pytest
import yaml
from kubernetes_validate import utils as kubernetes_validate

import support

DEPLOY = support.REPO / "deploy" / "kubernetes"
# 1.30: the oldest release the manifests are meant for (grpc probes are GA since 1.27, policy/v1 and autoscaling/v2
# since 1.21 and 1.23); 1.37: the newest kubernetes-validate 1.37.0 ships schemas for.
KUBERNETES_VERSIONS = ("1.30", "1.37")
LOOPBACK = "127.0.0.1"


# --- reading the manifests -----------------------------------------------------------------------------------------

def manifest_files() -> list[Path]:
    files = sorted(p for p in DEPLOY.rglob("*.yaml") if p.name != "kustomization.yaml")
    assert files, f"no manifests under {DEPLOY}"
    return files


def documents() -> list[tuple[Path, dict]]:
    """(file, object) for every object in every manifest."""
    return [(path, doc) for path in manifest_files() for doc in yaml.safe_load_all(path.read_text()) if doc]


def find(kind: str, name: str) -> dict:
    found = [doc for _, doc in documents() if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_corefile(workload: dict) -> str:
    """The Corefile the workload's dnsgrpcd container reads: -conf PATH, PATH mounted from a ConfigMap key."""
    spec = workload["spec"]["template"]["spec"]
    container = spec["containers"][0]
    conf = container["args"][container["args"].index("-conf") + 1]
    mount = next(m for m in container["volumeMounts"] if conf.startswith(m["mountPath"].rstrip("/") + "/"))
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    item = next(i for i in volume["configMap"]["items"] if f"{mount['mountPath'].rstrip('/')}/{i['path']}" == conf)
    return find("ConfigMap", volume["configMap"]["name"])["data"][item["key"]]


# --- reading a Corefile (only the forms these ConfigMaps use) ------------------------------------------------------

KEY = re.compile(r"^(?P<scheme>[a-z]+://)?(?P<zone>[^\s:{]+):(?P<port>\d+) \{$", re.M)


def without_comments(corefile: str) -> str:
    return re.sub(r"#.*", "", corefile)


def listener_ports(corefile: str) -> dict[str, int]:
    """{scheme: port} of the server block keys ("dns" when none is written)."""
    return {(m["scheme"] or "dns://")[:-3]: int(m["port"]) for m in KEY.finditer(without_comments(corefile))}


def directive_argument(corefile: str, name: str) -> str | None:
    m = re.search(rf"^[ \t]*{name}[ \t]+([^\s{{]+)", without_comments(corefile), re.M)
    return m[1] if m else None


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def seconds(duration: str) -> float:
    m = re.fullmatch(r"(\d+)(ms|s|m)", duration)
    assert m, f"unexpected duration {duration!r}"
    return int(m[1]) * {"ms": 0.001, "s": 1, "m": 60}[m[2]]


def localize(corefile: str, upstream: str | None = None) -> tuple[str, dict[str, str]]:
    """The Corefile with every listening address moved to a free port of 127.0.0.1 (and `/etc/resolv.conf`
    replaced by `upstream`: a resolv.conf has no port). Returns the text and {what: address} of what listens."""
    addresses: dict[str, str] = {}
    text = re.sub(r"^[ \t]*bind[ \t].*\n", "", corefile, flags=re.M)

    def key(m: re.Match) -> str:
        scheme = (m["scheme"] or "dns://")[:-3]
        addresses[scheme] = f"{LOOPBACK}:{support.free_port()}"
        return f"{m['scheme'] or ''}{m['zone']}:{port_of(addresses[scheme])} {{\n    bind {LOOPBACK}"

    text = KEY.sub(key, text)
    for name in ("health", "ready", "prometheus"):
        if directive_argument(text, name) is not None:
            addresses[name] = f"{LOOPBACK}:{support.free_port()}"
            text = re.sub(rf"^([ \t]*{name})[ \t]+[^\s{{]+", rf"\g<1> {addresses[name]}", text, count=1,
                          flags=re.M)
    if upstream is not None:
        assert "/etc/resolv.conf" in text
        text = text.replace("/etc/resolv.conf", upstream)
    return text, addresses


def env_value(container: dict, name: str, services: dict[str, str]) -> str:
    """The value of env var `name` with $(VAR) references expanded from `services`, as the kubelet does."""
    raw = next(e["value"] for e in container["env"] if e["name"] == name)

    def variable(m: re.Match) -> str:
        assert m[1] in services, f"{name} refers to $({m[1]}); Kubernetes sets {sorted(services)}"
        return services[m[1]]

    return re.sub(r"\$\((\w+)\)", variable, raw)


# --- schema validation ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_validate_against_the_kubernetes_schemas(version):
    failures = []
    for path, doc in documents():
        where = f"{path.relative_to(support.REPO)}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            failures.append(f"{where}: {'.'.join(map(str, e.path))}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            failures.append(f"{where}: {e.message}")
    assert not failures, "\n".join(failures)


def test_strict_validation_rejects_a_misspelt_field():
    """The check above can fail: the gateway Deployment with `readinesProbe` does not validate."""
    deployment = copy.deepcopy(find("Deployment", "dnsgrpcd-gateway"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_kustomizations_list_every_manifest():
    listed: set[Path] = set()
    for kustomization in DEPLOY.rglob("kustomization.yaml"):
        for resource in yaml.safe_load(kustomization.read_text())["resources"]:
            target = (kustomization.parent / resource).resolve()
            assert target.is_file() or (target / "kustomization.yaml").is_file(), f"{kustomization}: {resource}"
            listed.add(target)
    assert set(manifest_files()) <= listed


# --- manifests against their Corefiles -----------------------------------------------------------------------------

def container_port(container: dict, port: int | str) -> int:
    """A probe's port, by number or by the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container["ports"] if p["name"] == port)


def shutdown_grace(container: dict) -> float:
    args = container["args"]
    return seconds(args[args.index("--shutdown-grace") + 1]) if "--shutdown-grace" in args else 5.0


def assert_selects(selector: dict, workload: dict) -> None:
    labels = workload["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items(), f"{selector} does not select {labels}"


def test_image_tag_is_the_binary_release():
    version = support.run_dnsgrpcd("-version")
    assert version.returncode == 0, version.stderr
    release = re.match(r"dnsgrpcd-(\S+)", version.stdout)[1]
    for _, doc in documents():
        if doc["kind"] in ("Deployment", "DaemonSet"):
            spec = doc["spec"]["template"]["spec"]
            for container in spec.get("initContainers", []) + spec["containers"]:
                assert container["image"] == f"dnsgrpcd:{release}", doc["metadata"]["name"]


def test_gateway_manifests_agree_with_its_corefile():
    deployment = find("Deployment", "dnsgrpcd-gateway")
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    corefile = pod_corefile(deployment)
    grpc_port = listener_ports(corefile)["grpc"]
    health, ready = directive_argument(corefile, "health"), directive_argument(corefile, "ready")
    metrics = directive_argument(corefile, "prometheus")
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"grpc": grpc_port, "health": port_of(health), "ready": port_of(ready),
                     "metrics": port_of(metrics)}
    # Every address of the pod, so the kubelet and Prometheus reach them.
    assert all(addr.startswith(":") for addr in (health, ready, metrics)), (health, ready, metrics)

    assert container["startupProbe"]["grpc"]["port"] == grpc_port
    for probe, path, address in (("livenessProbe", "/health", health), ("readinessProbe", "/ready", ready)):
        assert container[probe]["httpGet"]["path"] == path
        assert container_port(container, container[probe]["httpGet"]["port"]) == port_of(address)
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port_of(metrics))
    lameduck = re.search(r"lameduck\s+(\S+)", without_comments(corefile))[1]
    assert pod["spec"]["terminationGracePeriodSeconds"] > seconds(lameduck) + shutdown_grace(container)
    assert pod["spec"]["dnsPolicy"] == "ClusterFirst" and "/etc/resolv.conf" in corefile

    service = find("Service", "dnsgrpcd-gateway")
    assert_selects(service["spec"]["selector"], deployment)
    grpc = next(p for p in service["spec"]["ports"] if p["name"] == "grpc")
    assert (grpc["targetPort"], grpc["appProtocol"]) == ("grpc", "grpc")
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports.keys()
    headless = find("Service", "dnsgrpcd-gateway-headless")
    assert headless["spec"]["clusterIP"] == "None"
    assert_selects(headless["spec"]["selector"], deployment)
    assert_selects(find("PodDisruptionBudget", "dnsgrpcd-gateway")["spec"]["selector"]["matchLabels"], deployment)
    hpa = find("HorizontalPodAutoscaler", "dnsgrpcd-gateway")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": deployment["metadata"]["name"]}
    assert hpa["spec"]["minReplicas"] == deployment["spec"]["replicas"]


def test_node_local_manifests_agree_with_its_corefile():
    daemonset = find("DaemonSet", "dnsgrpcd-node-local")
    pod = daemonset["spec"]["template"]
    container = pod["spec"]["containers"][0]
    corefile = pod_corefile(daemonset)
    address = directive_argument(corefile, "bind")
    dns_port = listener_ports(corefile)["dns"]
    assert pod["spec"]["hostNetwork"] is True
    assert {(p["containerPort"], p["protocol"]) for p in container["ports"] if p["name"].startswith("dns")} == {
        (dns_port, "UDP"), (dns_port, "TCP")}
    # The init container puts the bind address on the node.
    assert f"{address}/32" in " ".join(pod["spec"]["initContainers"][0]["command"])
    for probe, path, name in (("livenessProbe", "/health", "health"), ("readinessProbe", "/ready", "ready")):
        get = container[probe]["httpGet"]
        assert f"{get['host']}:{get['port']}" == directive_argument(corefile, name) and get["path"] == path
        assert get["host"] == address
    metrics = directive_argument(corefile, "prometheus")
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port_of(metrics))
    assert port_of(metrics) in {p["containerPort"] for p in container["ports"] if p["name"] == "metrics"}

    # The upstream is the gateway Service, through the variables Kubernetes sets for it: <NAME>_SERVICE_HOST and
    # <NAME>_SERVICE_PORT_<PORT NAME>.
    service = find("Service", "dnsgrpcd-gateway")
    prefix = service["metadata"]["name"].upper().replace("-", "_")
    grpc = next(p for p in service["spec"]["ports"] if p["name"] == "grpc")
    variables = {f"{prefix}_SERVICE_HOST": "10.96.0.53", f"{prefix}_SERVICE_PORT_GRPC": str(grpc["port"])}
    assert env_value(container, "GRPC_GATEWAY", variables) == f"10.96.0.53:{grpc['port']}"
    assert re.search(r"forward \. grpc://\{\$GRPC_GATEWAY\}", corefile)
    assert service["metadata"]["namespace"] == daemonset["metadata"]["namespace"]


# --- the Corefiles run ---------------------------------------------------------------------------------------------

def listening_hosts(proc: support.Process) -> set[str]:
    """The hosts of every `listening on SCHEME://HOST:PORT` line of the log."""
    return {m[1].rsplit(":", 1)[0] for m in re.finditer(r"listening on [a-z]+://([^/\s]+)", proc.log())}


def start(dnsgrpcd, corefile: str, addresses: dict[str, str], tmp_path: Path, name: str, env=None):
    path = support.write_corefile(tmp_path / name, corefile)
    proc = dnsgrpcd("-conf", str(path), "--threads", "2", wait_for=list(addresses.values()), env=env, name=name)
    support.wait_until(lambda: "dnsgrpcd started" in proc.log(), timeout=support.READY_TIMEOUT,
                       what=f"{name}: 'dnsgrpcd started' in the log")
    # Nothing was left on an address of the cluster (or on every address): the rewrite covered every listener.
    assert listening_hosts(proc) == {LOOPBACK}, proc.log()
    return proc


def test_configmap_corefiles_run_the_chain_dig_node_local_gateway_knot(dnsgrpcd, knot, tmp_path):
    from grpc_health.v1 import health_pb2

    gateway_text, gateway = localize(pod_corefile(find("Deployment", "dnsgrpcd-gateway")), upstream=knot.addr)
    gateway_proc = start(dnsgrpcd, gateway_text, gateway, tmp_path, "gateway")
    assert set(gateway) == {"grpc", "health", "ready", "prometheus"}

    daemonset = find("DaemonSet", "dnsgrpcd-node-local")
    node_text, node = localize(pod_corefile(daemonset))
    host, port = support.split_hostport(gateway["grpc"])
    upstream = env_value(daemonset["spec"]["template"]["spec"]["containers"][0], "GRPC_GATEWAY",
                         {"DNSGRPCD_GATEWAY_SERVICE_HOST": host, "DNSGRPCD_GATEWAY_SERVICE_PORT_GRPC": str(port)})
    node_proc = start(dnsgrpcd, node_text, node, tmp_path, "node-local", env={"GRPC_GATEWAY": upstream})
    assert set(node) == {"dns", "health", "ready", "prometheus"}

    for proc, addresses in ((gateway_proc, gateway), (node_proc, node)):
        assert support.http_get(addresses["health"], "/health") == (200, "OK")
        assert support.wait_for_http(addresses["ready"], "/ready", 200, proc=proc) == "OK"
    assert support.grpc_health_check(gateway["grpc"]) == health_pb2.HealthCheckResponse.SERVING

    expected = support.dig(knot.addr, "www.example.org", "A")
    assert expected.rcode == "NOERROR" and expected.answer
    reply = dns.message.from_wire(support.grpc_query(
        gateway["grpc"], dns.message.make_query("www.example.org", "A").to_wire()))
    assert support.rr_set(reply.answer) == expected.answer

    # gRPC calls count as proto="tcp" (as in CoreDNS); the gateway has no other listener.
    def gateway_calls() -> float:
        return support.scrape(gateway["prometheus"]).value("coredns_dns_requests_total", proto="tcp")

    before = gateway_calls()
    for options in ((), ("+tcp",)):
        assert support.dig(node["dns"], "www.example.org", "A", *options).answer == expected.answer
    nxdomain = support.dig(node["dns"], "nope.example.org", "A")
    assert nxdomain.rcode == "NXDOMAIN"
    assert nxdomain.authority == support.dig(knot.addr, "nope.example.org", "A").authority
    # Two misses (the +tcp question was a hit of the node-local cache) went to the gateway as gRPC calls.
    assert gateway_calls() - before >= 2
    assert support.scrape(node["prometheus"]).value("coredns_dns_requests_total", proto="udp") >= 2

    # SIGTERM: exit 0 after the gateway's lame duck (5 s) and the grace for queries in flight; bounded generously.
    node_proc.stop(timeout=30)
    gateway_proc.stop(timeout=30)
