#!/usr/bin/env bash
# shellcheck disable=SC2317 # stop_process and cleanup run from the EXIT trap
# `make demo`: knotd serves examples/zones/example.org.zone on a free loopback port, dnsgrpcd runs
# examples/gateway/Corefile: gRPC DnsService on 127.0.0.1:$GRPC_PORT (5553), forwarding to knotd; two queries
# through the gateway are printed; both stay up until Ctrl-C, which stops them.
# Environment: DEMO_ONESHOT=1 exits after the queries (CI, smoke tests); GRPC_PORT; DNSGRPCD (binary, default
# .build/debug/dnsgrpcd); DEMO_DIR (logs, knotd's config and state; default run/demo); PYTHON; KNOTD.
# The queries are sent by `dnsgrpcd query`, the daemon's own client; README.md shows grpcio doing the same.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
DNSGRPCD=${DNSGRPCD:-$repo/.build/debug/dnsgrpcd}
KNOTD=${KNOTD:-$(command -v knotd || echo /usr/sbin/knotd)}
GRPC_PORT=${GRPC_PORT:-5553}
DEMO_DIR=${DEMO_DIR:-$repo/run/demo}
support="$repo/Tests/integration/support.py"

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

[ -x "$DNSGRPCD" ] || die "no dnsgrpcd binary at $DNSGRPCD: run 'make build' (or set DNSGRPCD)"
[ -x "$KNOTD" ] || die "no knotd at $KNOTD: run 'scripts/install-deps.sh demo'"
if (exec 3<>"/dev/tcp/127.0.0.1/$GRPC_PORT") 2>/dev/null; then
  die "127.0.0.1:$GRPC_PORT is already in use: stop what listens there, or run with GRPC_PORT=<another port>"
fi

mkdir -p "$DEMO_DIR"
rm -rf "$DEMO_DIR/run" "$DEMO_DIR/storage"
knot_log="$DEMO_DIR/knotd.log"
grpcd_log="$DEMO_DIR/dnsgrpcd.log"
knot_pid=""
grpcd_pid=""

# Stops one child: SIGTERM, up to 10 s, then SIGKILL. Fails, saying why, unless the child exits 0.
stop_process() {
  local name=$1 pid=$2 rc=0 signalled=""
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    signalled=1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "demo: $name did not stop within 10 s of SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || rc=$?
  if [ "$rc" -ne 0 ]; then
    if [ -n "$signalled" ]; then echo "demo: $name exited with $rc on SIGTERM, expected 0" >&2
    else echo "demo: $name had exited with $rc" >&2; fi
  fi
  return "$rc"
}

cleanup() {
  local rc=$?
  set +e
  trap - INT TERM HUP
  stop_process dnsgrpcd "$grpcd_pid" || rc=1
  stop_process knotd "$knot_pid" || rc=1
  if [ "$rc" -ne 0 ]; then
    for log in "$grpcd_log" "$knot_log"; do
      [ -s "$log" ] && { echo "--- last lines of $log ---" >&2; tail -n 30 "$log" >&2; }
    done
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "demo: stopping"; exit 0' INT TERM HUP

# knotd, authoritative for example.org, loopback only.
knot_port=$("$PYTHON" "$support" free-port)
"$PYTHON" "$support" knot-conf --port "$knot_port" --dir "$DEMO_DIR" >"$DEMO_DIR/knot.conf"
# setsid: a Ctrl-C reaches only this script, whose trap stops both children with one SIGTERM each.
setsid "$KNOTD" -c "$DEMO_DIR/knot.conf" >"$knot_log" 2>&1 &
knot_pid=$!
for _ in $(seq 100); do
  kill -0 "$knot_pid" 2>/dev/null || die "knotd exited at start (log: $knot_log)"
  [ -n "$(dig +short +time=1 +tries=1 @127.0.0.1 -p "$knot_port" example.org SOA 2>/dev/null)" ] && break
  sleep 0.1
done
[ -n "$(dig +short +time=1 +tries=1 @127.0.0.1 -p "$knot_port" example.org SOA)" ] \
  || die "knotd does not answer example.org SOA on 127.0.0.1:$knot_port (log: $knot_log)"
say "knotd serves example.org on 127.0.0.1:$knot_port (log: $knot_log)"

# dnsgrpcd, the gRPC DnsService gateway in front of it: examples/gateway/Corefile, ports from the environment.
corefile="$repo/examples/gateway/Corefile"
GRPC_PORT=$GRPC_PORT UPSTREAM="127.0.0.1:$knot_port" setsid "$DNSGRPCD" -conf "$corefile" --log-level info \
  >"$grpcd_log" 2>&1 &
grpcd_pid=$!
ready=""
for _ in $(seq 300); do
  kill -0 "$grpcd_pid" 2>/dev/null || die "dnsgrpcd exited at start (log: $grpcd_log)"
  if (exec 3<>"/dev/tcp/127.0.0.1/$GRPC_PORT") 2>/dev/null; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || die "dnsgrpcd did not listen on 127.0.0.1:$GRPC_PORT within 30 s (log: $grpcd_log)"
say "dnsgrpcd ($corefile) serves gRPC DnsService on 127.0.0.1:$GRPC_PORT, upstream 127.0.0.1:$knot_port (log: $grpcd_log)"

for q in "www.example.org A" "example.org MX"; do
  say "dnsgrpcd query @grpc://127.0.0.1:$GRPC_PORT $q"
  # shellcheck disable=SC2086 # $q is two words on purpose
  "$DNSGRPCD" query "@grpc://127.0.0.1:$GRPC_PORT" $q
done

cat <<EOF

==> Ask it more (while this runs):
    $DNSGRPCD query @grpc://127.0.0.1:$GRPC_PORT example.org NS
    $DNSGRPCD query @grpc://127.0.0.1:$GRPC_PORT big.example.org TXT +bufsize=4096
    $DNSGRPCD query @grpc://127.0.0.1:$GRPC_PORT nope.example.org A         # NXDOMAIN: exit status 1
    dig @127.0.0.1 -p $knot_port www.example.org A                                # knotd directly, to compare
    tail -f $grpcd_log
    \$EDITOR $corefile      # the gateway reloads it within seconds (reload 2s 1s)
EOF

if [ "${DEMO_ONESHOT:-0}" = 1 ]; then
  say "DEMO_ONESHOT=1: stopping"
  exit 0
fi
echo "    Press Ctrl-C to stop both."
rc=0
wait "$grpcd_pid" || rc=$?
grpcd_pid=""
die "dnsgrpcd exited by itself with $rc (log: $grpcd_log)"
