#!/usr/bin/env bash
# Runs each fuzz target for FUZZ_TIME seconds (default 120) on FUZZ_JOBS processes (default: the CPUs), starting
# from its committed seeds (fuzz/corpus/TARGET) and what earlier runs kept (fuzz/.work/TARGET, not committed: copy
# what is worth keeping into the corpus). A crash or a trap leaves its input in fuzz/.work/crashes/ and fails the run.
# Usage: fuzz/run.sh BINARY [TARGET...]   (default: every target)
set -euo pipefail

binary=$1
shift
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(dns-message dns-packet corefile tcp-frames reflection-request)
here=$(cd "$(dirname "$0")" && pwd)
seconds=${FUZZ_TIME:-120}
jobs=${FUZZ_JOBS:-$(nproc)}
work=$here/.work
mkdir -p "$work/crashes"

failed=0
for target in "${targets[@]}"; do
    mkdir -p "$work/$target"
    log=$work/$target.log
    rm -f "$work/$target".log "$work"/fuzz-*.log
    echo "== $target: $seconds s on $jobs processes"
    # -fork runs the jobs in child processes that share the corpus; -ignore_crashes=0 stops at the first finding.
    # -rss_limit_mb bounds what one input may make the target hold: more is a finding too.
    status=0
    # Swift's backtracer off: libFuzzer reports the trap and keeps the input; the backtracer's reads upset ASan.
    (cd "$work" && SWIFT_BACKTRACE=enable=no FUZZ_TARGET=$target "$binary" "$work/$target" "$here/corpus/$target" \
        -fork="$jobs" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -max_len=65536 \
        -artifact_prefix="$work/crashes/$target-" -print_final_stats=1 >"$log" 2>&1) || status=$?
    # In fork mode the parent sums its children's executions on its last status lines.
    runs=$(grep -oE 'exec/s: [0-9]+|#[0-9]+:? ' "$log" | grep -oE '^#[0-9]+' | tail -1 | tr -d '#' || true)
    coverage=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 || true)
    crashes=$(find "$work/crashes" -name "$target-*" | wc -l)
    echo "   executions: ${runs:-?}  ${coverage:-}  corpus kept: $(find "$work/$target" -type f | wc -l)  crashes: $crashes  (log: $log)"
    if [[ $status -ne 0 || $crashes -gt 0 ]]; then
        failed=1
        tail -30 "$log"
    fi
done
exit $failed
