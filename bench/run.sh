#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The full-path benchmark. Starts (and stops, by PID) a private redis-server, one nginx in its own
# prefix (the loopback baseline answering 200, and a fast mock WhatsApp provider for the sender)
# and the gateway; drives pre-signed WhatsApp webhooks that complete surveys for many distinct
# senders (each request sent once) with bench/loadgen.c, and prints requests/s, p50/p99, the
# gateway's and redis-server's CPU time per request, the gateway's RSS, the outbox/events backlog
# and writer lag, and the ratio to nginx's static 200 measured in the same run with the same
# client. Start-up and probes: bench/lib.sh. Loopback only, bounded.
#   bench/run.sh                  defaults: DURATION=10 CONNS=32 WORKERS=2 LIVE_SESSIONS=100000
#   DURATION=5 bench/run.sh       shorter phases
#   REDIS_APPENDFSYNC=always bench/run.sh   Redis fsyncs its AOF before every reply (default
#                                 everysec, as in production): the cost of the strict mode
# Phases: 1 nginx static 200 at max rate (loadgen, and wrk as a check on the client);
#         2 Suara at max rate (closed loop), backlog and writer lag sampled every 0.2 s;
#         3 Suara at half of that rate (open loop: latency from each request's due time);
#         4 LIVE_SESSIONS more senders open a survey (live sessions), then the RSS.
# BUILD_DIR (default build/) is where the gateway is built (RelWithDebInfo); SUARA_BIN skips it.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/deploy/lib.sh"
. "$ROOT/bench/lib.sh"
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
WORKERS=${WORKERS:-2}
THREADS=${THREADS:-2}
SENDERS=${SENDERS:-40000}
LIVE_SESSIONS=${LIVE_SESSIONS:-100000}
BASE_PORT=${BASE_PORT:-18081}
PROV_PORT=${PROV_PORT:-18082}
GW_PORT=${GW_PORT:-18080}
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
VAR="$ROOT/bench/var"

install_deps
for p in wrk nginx-light sqlite3; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done
if [ -z "${SUARA_BIN:-}" ]; then
    build "$BUILD_DIR"
    SUARA_BIN="$BUILD_DIR/gateway/suara"
fi

bench_prepare
SAMPLER_PID=
cleanup() {
    [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null || true
    bench_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

RUN=$(date +%s)
say "generating $SENDERS surveys ($((SENDERS * 6)) signed webhooks) and $LIVE_SESSIONS openings"
python3 "$ROOT/bench/gen_requests.py" --senders "$SENDERS" --run "$RUN" --out "$VAR/requests.txt" &
GEN1=$!
python3 "$ROOT/bench/gen_requests.py" --senders "$LIVE_SESSIONS" --steps 1 --first 100000000 \
    --block "$LIVE_SESSIONS" --run "$RUN" --out "$VAR/sessions.txt"
wait "$GEN1"

bench_write_ini
bench_start_gateway
sleep 1
rss_kb() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$GW_PID/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$GW_PID/stat"; }
loadgen() { # port file args...
    port=$1 file=$2
    shift 2
    "$VAR/loadgen" -p "$port" -u /webhooks/wa -f "$file" -c "$CONNS" -t "$THREADS" "$@" |
        grep '^RESULT' || true
}
sampler() { # writes "max_outbox max_event_age_ms" when stopped
    mo=0 me=0
    trap 'echo "$mo $me" >"$VAR/sampler.out"; exit 0' TERM
    while :; do
        o=$(outbox_backlog) e=$(events_age_ms)
        [ "$o" -gt "$mo" ] && mo=$o
        [ "$e" -gt "$me" ] && me=$e
        sleep 0.2
    done
}
IDLE_RSS=$(rss_kb VmRSS)

say "1/4 baseline: nginx static 200 (${DURATION}s, $CONNS connections, same requests)"
BASE=$(loadgen "$BASE_PORT" "$VAR/requests.txt" -d "$DURATION" -l)
WRK=$(wrk -t "$THREADS" -c "$CONNS" -d "${DURATION}s" -s "$ROOT/bench/webhooks.lua" \
    "http://127.0.0.1:$BASE_PORT/webhooks/wa" -- "$VAR/requests.txt" 20000 | grep '^RESULT' || true)

say "2/4 suara at max rate (${DURATION}s, $CONNS connections, $WORKERS workers, Redis appendfsync ${REDIS_APPENDFSYNC:-everysec})"
sampler &
SAMPLER_PID=$!
C0=$(cpu_ticks)
R0=$(redis_cpu_us)
PERF_PID=
if [ -n "${PERF_OUT:-}" ]; then
    perf record -F 499 -g -p "$GW_PID" -o "$PERF_OUT" -- sleep "$DURATION" >/dev/null 2>&1 &
    PERF_PID=$!
fi
MAX=$(loadgen "$GW_PORT" "$VAR/requests.txt" -d "$DURATION")
C1=$(cpu_ticks)
R1=$(redis_cpu_us)
T0=$(date +%s%N)
wait_drained 600 || true # drain: every reply sent, every event in SQLite
DRAIN_MS=$((($(date +%s%N) - T0) / 1000000))
kill "$SAMPLER_PID"
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=
read -r MAX_OUTBOX MAX_EV_AGE <"$VAR/sampler.out"
[ -z "$PERF_PID" ] || wait "$PERF_PID" || true
USED=$(field "$MAX" requests)

HALF=$(awk -v r="$(field "$MAX" rps)" 'BEGIN {printf "%d", r / 2}')
say "3/4 suara at half that rate: $HALF req/s, open loop (${DURATION}s)"
C2=$(cpu_ticks)
R2=$(redis_cpu_us)
HALFR=$(loadgen "$GW_PORT" "$VAR/requests.txt" -d "$DURATION" -r "$HALF" -s "$USED")
C3=$(cpu_ticks)
R3=$(redis_cpu_us)
sleep 1

say "4/4 $LIVE_SESSIONS senders open a survey (live sessions in Redis)"
SESS=$(loadgen "$GW_PORT" "$VAR/sessions.txt" -d 120)
sleep 1.5
LIVE=$($RCLI ZCARD bench:expiry)
LIVE_RSS=$(rss_kb VmRSS)
PEAK_RSS=$(rss_kb VmHWM)

HZ=$(getconf CLK_TCK)
per_req() { awk -v t="$1" -v hz="$HZ" -v n="$2" 'BEGIN {printf "%.1f", n ? t / hz * 1e6 / n : 0}'; }
us_per() { awk -v t="$1" -v n="$2" 'BEGIN {printf "%.1f", n ? t / n : 0}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b ? a / b : 0}'; }
line() { printf '%-26s: %9s req/s  p50 %7s ms  p99 %7s ms  non-2xx %s errors %s (%s requests)\n' \
    "$1" "$(field "$2" rps)" "$(field "$2" p50_ms)" "$(field "$2" p99_ms)" "$(field "$2" non2xx)" \
    "$(field "$2" errors)" "$(field "$2" requests)"; }
SURVEYS=$(sqlite3 "$VAR/suara.db" "SELECT count(*) FROM surveys WHERE status = 'completed'" 2>/dev/null || echo "?")
cat <<TXT

== Suara benchmark: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(date -u +%Y-%m-%dT%H:%M:%SZ) ==
$(line "nginx static 200" "$BASE")
$(printf '%-26s: %9s req/s  p50 %7s ms  p99 %7s ms' "nginx static 200 (wrk)" "$(field "$WRK" rps)" "$(field "$WRK" p50_ms)" "$(field "$WRK" p99_ms)")
$(line "suara full path, max" "$MAX")
$(line "suara at half max (open)" "$HALFR")
ratio suara / nginx       : $(ratio "$(field "$MAX" rps)" "$(field "$BASE" rps)")   (target >= 0.12)
p99 at half max           : $(field "$HALFR" p99_ms) ms   (target <= 10 ms)
gateway CPU per request   : $(per_req $((C1 - C0)) "$USED") us at max, $(per_req $((C3 - C2)) "$(field "$HALFR" requests)") us at half   (target <= 40; whole process: workers, sender, writer)
Redis CPU per request     : $(us_per $((R1 - R0)) "$USED") us at max, $(us_per $((R3 - R2)) "$(field "$HALFR" requests)") us at half   (target <= 30; redis-server user + system, INFO cpu, over the same windows)
outbox backlog (replies)  : max $MAX_OUTBOX not yet sent during the max-rate run; drained $DRAIN_MS ms after it
writer lag                : oldest event not yet in SQLite at most $MAX_EV_AGE ms old during the max-rate run   (target < 1000)
gateway RSS               : idle $((IDLE_RSS / 1024)) MiB (target < 20), with $LIVE live sessions $((LIVE_RSS / 1024)) MiB, peak $((PEAK_RSS / 1024)) MiB (target < 50)
live-session phase        : $(field "$SESS" rps) req/s, non-2xx $(field "$SESS" non2xx) ($(field "$SESS" requests) openings)
surveys completed (SQL)   : $SURVEYS
TXT
[ -z "${PERF_OUT:-}" ] || echo "profile of phase 2      : bench/perf_summary.sh $PERF_OUT   (by DSO, then by symbol)"
