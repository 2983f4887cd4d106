#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The fault harness in one command (see README.md): builds the gateway and tests/faults/ in
# BUILD_DIR (default build/), runs every scenario (or the ones named) one after another at the
# given size, and prints one line per scenario plus a table of the counts.
#   tests/faults/run.sh full                      5,000 webhooks per scenario, the issue's faults
#   tests/faults/run.sh small                     the CI size (a few hundred, faults x 0.1)
#   tests/faults/run.sh full redis_kill9_70s      one scenario
# FAULTS_MESSAGES, FAULTS_RATE, FAULTS_SCALE, FAULTS_SETTLE_MS, FAULTS_QUIESCE_MS,
# FAULTS_REPEAT_METRIC, FAULTS_EXTRA_INI and FAULTS_KEEP=1 (keep every run's directory) override.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/deploy/lib.sh"
SIZE=${1:-small}
[ $# -gt 0 ] && shift
case $SIZE in small | full) ;; *) echo "usage: $0 small|full [scenario...]" >&2; exit 2 ;; esac
SCENARIOS=${*:-"provider_down_20s provider_down_60s provider_500_20s provider_429_ra5_30s
provider_slow_12s_20s provider_429_ra30_90s gateway_kill9 gateway_sigterm redis_kill9_3s
redis_kill9_15s redis_kill9_70s"}
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
if [ -z "${SKIP_BUILD:-}" ]; then
    install_deps
    build "$BUILD_DIR"
fi
secs() { awk "BEGIN { printf \"%.1f\", $1 / 1000 }"; }
OUT=$(mktemp /tmp/suara-faults-XXXXXX.log)
status=0
for s in $SCENARIOS; do
    say "fault scenario $s ($SIZE)"
    { FAULTS_SIZE=$SIZE "$BUILD_DIR/tests/faults/test_faults" "$s" 2>&1 || echo "FAILED $s"; } |
        tee -a "$OUT"
done
grep -q '^FAILED ' "$OUT" && status=1
say "summary ($OUT)"
grep '^FAILED ' "$OUT" >&2 || true
printf '%-24s %6s %6s %5s %5s %7s %8s %8s %6s %8s %11s %8s\n' scenario acked lost dups rep db_rows \
    pending undeliv dead fault_s recovery_s drain_s
grep '^FAULTS ' "$OUT" | while read -r _ line; do
    eval "$(echo "$line" | tr ' ' '\n' | sed -n 's/^\([a-z_]*\)=\(.*\)$/\1="\2"/p')"
    # shellcheck disable=SC2154 # the names come from the FAULTS line
    printf '%-24s %6s %6s %5s %5s %7s %8s %8s %6s %8s %11s %8s\n' "$name" "$acked/$messages" \
        "$lost" "$duplicates" "$repeats_metric" "$db_surveys" "$pending" "$undelivered" \
        "$dead_letter" "$(secs "$fault_ms")" "$(secs "$recovery_ms")" "$(secs "${drain_ms:-0}")"
done
exit $status
