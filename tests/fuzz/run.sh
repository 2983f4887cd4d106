#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets with clang (ASan + UBSan + libFuzzer, own build dir) and runs each
# for SECONDS, then prints per target: executions, exec/s, final coverage (cov / ft), corpus size
# and crashes. Exits non-zero if any target crashed (or leaked, timed out, ran out of memory).
#
#   tests/fuzz/run.sh SECONDS [TARGET...]      (default: every fuzz_* target of the build)
#
# Environment: BUILD (default /tmp/suara-fuzz-build), WORK (grown corpora and crash files,
# default $BUILD/work), JOBS (targets run at once, default 1), NICE (nice level, default 10).
# The grown corpus stays in WORK (never committed); the seeds in tests/fuzz/corpus/<target>/ are
# only read. A crash is written to WORK/crashes/<target>/; copy it to tests/fuzz/regress/<target>/
# once fixed, so the replay test in the normal build keeps it. Needs clang and libclang-rt-14-dev.
set -eu
SECONDS_EACH=${1:?usage: $0 SECONDS [TARGET...]}
shift
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-/tmp/suara-fuzz-build}
WORK=${WORK:-$BUILD/work}
JOBS=${JOBS:-1}
NICE=${NICE:-10}

CC=clang cmake -S "$ROOT" -B "$BUILD" -DSUARA_FUZZ=ON -DSUARA_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD.configure.log" 2>&1 ||
    { cat "$BUILD.configure.log"; exit 1; }
if [ $# -eq 0 ]; then # every target the build defines (tests/fuzz/CMakeLists.txt)
    set -- $(cmake --build "$BUILD" --target help | sed -n 's/^\.\.\. fuzz_\([a-z_]*\).*/\1/p')
fi
targets="$*"
for t in $targets; do
    nice -n "$NICE" cmake --build "$BUILD" -j "$(nproc)" --target "fuzz_$t" >/dev/null
done

# One target: libFuzzer's own log goes to WORK/<t>.log; the exit status to WORK/<t>.rc.
run_one() {
    t=$1
    mkdir -p "$WORK/corpus/$t" "$WORK/crashes/$t"
    dict=
    [ -f "$HERE/dict/$t.dict" ] && dict="-dict=$HERE/dict/$t.dict"
    rc=0
    nice -n "$NICE" "$BUILD/tests/fuzz/fuzz_$t" $dict -max_total_time="$SECONDS_EACH" \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$WORK/crashes/$t/" "$WORK/corpus/$t" "$HERE/corpus/$t" \
        >"$WORK/$t.log" 2>&1 || rc=$?
    echo "$rc" >"$WORK/$t.rc"
}

# Runs the targets JOBS at a time.
running=0
for t in $targets; do
    echo "fuzz: $t for ${SECONDS_EACH}s" >&2
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait
        running=0
    fi
done
wait

status=0
printf '%-10s %8s %12s %8s %8s %8s %7s %8s\n' target seconds execs exec/s cov ft corpus crashes
for t in $targets; do
    log="$WORK/$t.log"
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corpus=$(ls "$WORK/corpus/$t" | wc -l)
    crashes=$(ls "$WORK/crashes/$t" | grep -cE '^(crash|leak|timeout|oom)-' || true)
    rc=$(cat "$WORK/$t.rc")
    [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ] && crashes="rc=$rc"
    printf '%-10s %8s %12s %8s %8s %8s %7s %8s\n' "$t" "$SECONDS_EACH" "${execs:-?}" \
        "${rate:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "$crashes"
    if [ "$rc" -ne 0 ] || [ "$crashes" != 0 ]; then
        status=1
        echo "  $t: see $log and $WORK/crashes/$t/" >&2
    fi
done
exit $status
