#!/usr/bin/env bash
# Installs what building, the demo and the tests need on Debian 12, and nothing when it is all there already.
#   scripts/install-deps.sh [build|demo|test|bench|all]      (default: all)
# build: gRPC core, protobuf-c and OpenSSL headers, and tcmalloc (gperftools), for the Swift package.
# demo:  build + knotd, dig, and the Python gRPC client (grpcio, grpcio-tools, dnspython).
# test:  demo + pytest and pytest-xdist (two workers), prometheus_client, grpcio-health-checking,
#        grpcio-reflection (an independent reflection client), kubernetes-validate (the manifests' schemas, offline),
#        httpx2 and h2 (dnspython's DoH client, raw HTTP/2 frames), and unbound (an independent DNS-over-TLS server),
#        dnsdist (an independent DoH server) and dnsperf (its DoH mode).
# bench: demo + dnsperf, dnsdist (the peer), h2load (nghttp2-client), taskset.
# apt-get update runs at most once, and only when a Debian package is missing. Python packages go to $PYTHON
# (default python3) with `python3 -m pip`.
set -euo pipefail

what=${1:-all}
PYTHON=${PYTHON:-python3}
export DEBIAN_FRONTEND=noninteractive

apt_build=(libgrpc-dev libprotobuf-c-dev protobuf-c-compiler libssl-dev libgoogle-perftools-dev pkg-config)
apt_run=(knot knot-dnsutils dnsutils procps util-linux)
apt_bench=(dnsperf dnsdist nghttp2-client)
apt_test=(unbound iproute2 dnsdist dnsperf)
pip_demo=(grpcio grpcio-tools dnspython)
pip_test=(pytest pytest-xdist prometheus_client grpcio-health-checking grpcio-reflection kubernetes-validate httpx2 h2)
# What each pip package is imported as, to check for it.
declare -A import_name=([grpcio]=grpc [grpcio-tools]=grpc_tools [dnspython]=dns [pytest]=pytest [pytest-xdist]=xdist
                        [prometheus_client]=prometheus_client [grpcio-health-checking]=grpc_health
                        [grpcio-reflection]=grpc_reflection
                        [kubernetes-validate]=kubernetes_validate [httpx2]=httpx2 [h2]=h2)

case "$what" in
  build) apt_pkgs=("${apt_build[@]}"); pip_pkgs=() ;;
  demo) apt_pkgs=("${apt_build[@]}" "${apt_run[@]}"); pip_pkgs=("${pip_demo[@]}") ;;
  test | all) apt_pkgs=("${apt_build[@]}" "${apt_run[@]}" "${apt_test[@]}"); pip_pkgs=("${pip_demo[@]}" "${pip_test[@]}") ;;
  bench) apt_pkgs=("${apt_build[@]}" "${apt_run[@]}" "${apt_bench[@]}"); pip_pkgs=("${pip_demo[@]}") ;;
  *) echo "usage: $0 [build|demo|test|bench|all]" >&2; exit 2 ;;
esac

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo DEBIAN_FRONTEND=noninteractive "$@"
  else
    echo "install-deps: need root (or sudo) to run: $*" >&2
    exit 1
  fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

apt_updated=""
apt_install() {
  [ $# -gt 0 ] || return 0
  if [ -z "$apt_updated" ]; then
    as_root apt-get -o DPkg::Lock::Timeout=300 update -qq
    apt_updated=1
  fi
  echo "install-deps: apt-get install $*"
  as_root apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
for pkg in "${apt_pkgs[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
fi

if [ ${#pip_pkgs[@]} -gt 0 ]; then
  command -v "$PYTHON" >/dev/null || apt_install python3
  modules=()
  for pkg in "${pip_pkgs[@]}"; do modules+=("${import_name[$pkg]}"); done
  missing=()
  # One interpreter start when everything is there (the usual case); one per package only to find what is not.
  if ! "$PYTHON" -c "import $(IFS=,; echo "${modules[*]}")" 2>/dev/null; then
    for pkg in "${pip_pkgs[@]}"; do
      "$PYTHON" -c "import ${import_name[$pkg]}" 2>/dev/null || missing+=("$pkg")
    done
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    "$PYTHON" -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    echo "install-deps: $PYTHON -m pip install ${missing[*]}"
    pip=("$PYTHON" -m pip install -q --disable-pip-version-check "${missing[@]}")
    if ! out=$("${pip[@]}" 2>&1); then
      # Debian's own python3 refuses pip installs (PEP 668) unless told otherwise; these machines are ours.
      if grep -q externally-managed-environment <<<"$out"; then
        "${pip[@]}" --break-system-packages
      else
        echo "$out" >&2
        exit 1
      fi
    fi
  fi
fi
