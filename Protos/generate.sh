#!/usr/bin/env bash
# Regenerates the protobuf-c code for dns.proto into Sources/CGRPC (the only C target).
# The header goes to include/, which SwiftPM puts on the C target's header path.
# Needs protoc-c from Debian's protobuf-c-compiler. Run from anywhere; `--check` compares instead of writing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../Sources/CGRPC"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$here" && protoc-c --c_out="$tmp" dns.proto)
if [ "${1:-}" = "--check" ]; then
  cmp -s "$tmp/dns.pb-c.h" "$out/include/dns.pb-c.h" && cmp -s "$tmp/dns.pb-c.c" "$out/dns.pb-c.c" \
    || { echo "Sources/CGRPC/dns.pb-c.{c,h} are stale: run Protos/generate.sh" >&2; exit 1; }
  echo "protobuf-c code is up to date"
else
  cp "$tmp/dns.pb-c.h" "$out/include/dns.pb-c.h"
  cp "$tmp/dns.pb-c.c" "$out/dns.pb-c.c"
fi
