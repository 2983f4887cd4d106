#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The cost of one message, counted rather than timed (issue 9): a fixed workload through the full
# path - SURVEYS surveys of 6 signed WhatsApp webhooks each (1,200 by default), each sent once,
# open loop at a modest RATE, every reply sent to the mock provider and every event in SQLite -
# measured twice on a fresh private redis-server + nginx + gateway (bench/lib.sh):
#   pass 1, allocations: the gateway under bench/malloccount.c (LD_PRELOAD): malloc + calloc +
#     realloc (+ aligned) calls per message, per thread kind (event-loop workers, which also run
#     the sender; the SQLite writer; main; libuv's pool), plus each thread's CPU (schedstat) and
#     redis-server's CPU (INFO cpu) and commands (INFO commandstats) per message;
#   pass 2, instructions: the gateway under valgrind --tool=callgrind (no hardware counters on
#     this VM, so not perf stat): instructions (Ir) per message per thread kind, and the
#     functions with the most inclusive instructions in the worker threads.
# A warm-up of WARMUP surveys (other senders) runs first in each pass and is not counted: the
# window is opened (counters marked / callgrind zeroed) after it drained and closed once the
# workload drained. Counts move by a few per cent between runs (batching in the writer and the
# outbox follows timing), not with the machine's load.
#   bench/cost.sh                 defaults: SURVEYS=200 WARMUP=20 RATE=25 CONNS=4 WORKERS=2
#   SUARA_BIN=/tmp/b-before/gateway/suara bench/cost.sh     a given binary (RelWithDebInfo)
#   CALLGRIND=0 bench/cost.sh     allocations only (seconds instead of minutes)
# BUILD_DIR (default build/) is where the gateway is built (RelWithDebInfo); SUARA_BIN skips it.
# Output: the report on stdout; raw counts, callgrind files and annotations in COST_VAR
# (default bench/cost-var/). Loopback only, bounded; everything it starts is stopped by PID.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/deploy/lib.sh"
. "$ROOT/bench/lib.sh"
SURVEYS=${SURVEYS:-200}
WARMUP=${WARMUP:-20}
RATE=${RATE:-25}
CONNS=${CONNS:-4}
WORKERS=${WORKERS:-2}
CALLGRIND=${CALLGRIND:-1}
BASE_PORT=${BASE_PORT:-18181}
PROV_PORT=${PROV_PORT:-18182}
GW_PORT=${GW_PORT:-18180}
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
COST_VAR=${COST_VAR:-$ROOT/bench/cost-var}

install_deps
for p in nginx-light sqlite3 valgrind binutils; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$p" >/dev/null; }
done
if [ -z "${SUARA_BIN:-}" ]; then
    build "$BUILD_DIR"
    SUARA_BIN="$BUILD_DIR/gateway/suara"
fi
SUARA_BIN=$(readlink -f "$SUARA_BIN")
N=$((SURVEYS * 6))

rm -rf "$COST_VAR"
mkdir -p "$COST_VAR"
cc -O2 -Wall -Wextra -Werror -shared -fPIC -pthread -o "$COST_VAR/malloccount.so" \
    "$ROOT/bench/malloccount.c" -ldl
python3 "$ROOT/bench/gen_requests.py" --senders "$SURVEYS" --block "$SURVEYS" --run cost \
    --out "$COST_VAR/requests.txt"
python3 "$ROOT/bench/gen_requests.py" --senders "$WARMUP" --block "$WARMUP" --first 1000000 \
    --run warm --out "$COST_VAR/warmup.txt"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# send FILE: every request once, open loop; fails unless all were answered 2xx
send() {
    r=$("$VAR/loadgen" -p "$GW_PORT" -u /webhooks/wa -f "$1" -c "$CONNS" -t 1 -d 3600 -r "$RATE" |
        grep '^RESULT' || true)
    want=$(wc -l <"$1")
    [ "$(field "$r" requests)" = "$want" ] && [ "$(field "$r" non2xx)" = 0 ] &&
        [ "$(field "$r" errors)" = 0 ] || { echo "workload failed: $r" >&2; exit 1; }
    wait_drained "$DRAIN_TRIES" || { echo "not drained after the workload" >&2; exit 1; }
}

# thread_kind LABEL: what a malloccount start label or a callgrind thread file is
thread_kind() {
    case $1 in
    -) echo main ;;
    *malloccount*) echo counter ;;
    *libuv*) echo libuv-pool ;;
    *.so*) echo other ;;
    *+0x*) # the executable (the counter names it by argv[0])
        fn=$(addr2line -f -e "$SUARA_BIN" "${1##*+}" | head -1)
        case $fn in worker_main) echo workers ;; writer_main) echo writer ;; *) echo "$fn" ;; esac ;;
    *) echo other ;;
    esac
}

# thread_cpu: "tid ns" for every thread of the gateway (on-CPU time, user + system)
thread_cpu() {
    for t in /proc/"$GW_PID"/task/*; do
        echo "${t##*/} $(cut -d' ' -f1 "$t/schedstat" 2>/dev/null || echo 0)"
    done
}

# pass 1: allocations, CPU per thread, Redis
pass_alloc() {
    VAR=$COST_VAR/alloc
    DRAIN_TRIES=1200
    bench_prepare
    bench_write_ini
    mkfifo "$VAR/mc.fifo"
    bench_start_gateway env LD_PRELOAD="$COST_VAR/malloccount.so" MALLOCCOUNT_FIFO="$VAR/mc.fifo"
    say "pass 1 (allocations): warm-up $WARMUP surveys, then $N webhooks at $RATE/s"
    send "$COST_VAR/warmup.txt"
    echo mark >"$VAR/mc.fifo"
    $RCLI CONFIG RESETSTAT >/dev/null
    thread_cpu >"$VAR/cpu0"
    R0=$(redis_cpu_us)
    send "$COST_VAR/requests.txt"
    R1=$(redis_cpu_us)
    thread_cpu >"$VAR/cpu1"
    $RCLI INFO commandstats | tr -d '\r' >"$VAR/commandstats"
    echo "dump $VAR/mc.out" >"$VAR/mc.fifo"
    for _ in $(seq 100); do [ -s "$VAR/mc.out" ] && break; sleep 0.05; done
    sleep 0.1 # the counter writes one line per thread; let it finish
    SURVEYS_SQL=$(sqlite3 "$VAR/suara.db" "SELECT count(*) FROM surveys WHERE status = 'completed'")
    bench_cleanup
    GW_PID=
    REDIS_US=$((R1 - R0))
}

# "kind tid" for each counted thread (from the counter's labels)
alloc_kinds() {
    while read -r _ tid start _; do
        echo "$(thread_kind "${start#start=}")|${tid#tid=}"
    done <"$VAR/mc.out" >"$VAR/kinds"
}

report_alloc() {
    alloc_kinds
    echo "-- allocations, CPU and Redis per message ($N messages) --"
    printf '%-12s %6s %11s %10s %8s %11s\n' "threads" "count" "allocs/msg" "frees/msg" "KiB/msg" \
        "CPU us/msg"
    awk -v n="$N" -F'[ =|]' '
        FILENAME ~ /kinds$/ { kind[$2] = $1; next }
        FILENAME ~ /cpu0$/ { c0[$1] = $2; next }
        FILENAME ~ /cpu1$/ { cpu[$1] = $2 - c0[$1]; next }
        { k = kind[$3]; if (k == "counter") next
          a = $7 + $9 + $11 + $13; thr[k]++; al[k] += a; fr[k] += $15; by[k] += $17
          ns[k] += cpu[$3]; ta += a; tf += $15; tb += $17; tn += cpu[$3] }
        END { for (k in thr) printf "1 %-12s %6d %11.1f %10.1f %8.1f %11.1f\n", k, thr[k],
                  al[k] / n, fr[k] / n, by[k] / n / 1024, ns[k] / n / 1000
              printf "2 %-12s %6s %11.1f %10.1f %8.1f %11.1f\n", "total", "", ta / n, tf / n,
                  tb / n / 1024, tn / n / 1000 }' \
        "$VAR/kinds" "$VAR/cpu0" "$VAR/cpu1" "$VAR/mc.out" | sort -k1,2 | cut -c3-
    echo "(allocs = malloc + calloc + realloc + aligned; CPU = schedstat on-CPU time, user + system," \
        "of the window, counter included)"
    awk -v n="$N" -v us="$REDIS_US" 'BEGIN {printf "redis-server CPU per message: %.1f us\n", us / n}'
    echo "redis commands per message (INFO commandstats; commands run by scripts counted too):"
    awk -F'[:=,]' -v n="$N" '/^cmdstat_/ {sub("cmdstat_", "", $1)
        printf "  %-12s %6.2f calls %8.1f us\n", $1, $3 / n, $5 / n}' "$VAR/commandstats" |
        sort -k4 -rn | head -12
    echo "surveys completed in SQLite: $SURVEYS_SQL (expected $((SURVEYS + WARMUP)))"
}

# pass 2: instructions under callgrind
pass_callgrind() {
    VAR=$COST_VAR/callgrind
    DRAIN_TRIES=6000
    bench_prepare
    bench_write_ini
    mkdir -p "$VAR/cg"
    READY_S=180
    bench_start_gateway valgrind --tool=callgrind --separate-threads=yes \
        --callgrind-out-file="$VAR/cg/callgrind.out" --log-file="$VAR/valgrind.log"
    say "pass 2 (instructions, callgrind): warm-up $WARMUP surveys, then $N webhooks at $RATE/s"
    send "$COST_VAR/warmup.txt"
    callgrind_control -z "$GW_PID" >/dev/null
    send "$COST_VAR/requests.txt"
    callgrind_control -d "$GW_PID" >/dev/null
    bench_cleanup
    GW_PID=
}

# kind of a callgrind thread file: thread 1 is main, the others by their start function
cg_kind() {
    case $1 in *-01) echo main; return ;; esac
    if grep -Eq '^c?fn=\([0-9]+\) worker_main$' "$1"; then echo workers
    elif grep -Eq '^c?fn=\([0-9]+\) writer_main$' "$1"; then echo writer
    else echo other; fi
}

# per_fn inclusive|self: the worker threads' callgrind_annotate lines summed per function, Ir per
# message, most first
per_fn() {
    cat "$VAR"/cg/callgrind.out.1-*."$1" | awk -v n="$N" '/^ *[0-9,]+ *\([ 0-9.]+%\) / {
        v = $1; gsub(",", "", v); $1 = ""; $2 = ""; sub(/^ +/, ""); ir[$0] += v }
        END { for (f in ir) printf "%10.0f  %s\n", ir[f] / n, f }' | sort -rn
}

report_callgrind() {
    echo "-- instructions per message ($N messages, callgrind) --"
    for f in "$VAR"/cg/callgrind.out.1-*; do
        echo "$(cg_kind "$f") $(awk '/^totals:/ {print $2}' "$f")"
    done | awk -v n="$N" '{ir[$1] += $2; c[$1]++; t += $2}
        END { for (k in ir) printf "%-12s %8d %14.0f\n", k, c[k], ir[k] / n
              printf "%-12s %8s %14.0f\n", "total", "", t / n }' | sort -k1,1 -s |
        awk 'BEGIN {printf "%-12s %8s %14s\n", "threads", "count", "Ir/msg"} {print}'
    for f in "$VAR"/cg/callgrind.out.1-*; do
        [ "$(cg_kind "$f")" = workers ] || continue
        callgrind_annotate --inclusive=yes --threshold=100 "$f" >"$f.inclusive" 2>&1
        callgrind_annotate --threshold=100 "$f" >"$f.self" 2>&1
    done
    per_fn inclusive >"$VAR/workers-inclusive.txt"
    per_fn self >"$VAR/workers-self.txt"
    echo "top inclusive in the worker threads (Ir per message; all: $VAR/workers-inclusive.txt):"
    head -30 "$VAR/workers-inclusive.txt"
    echo "top self in the worker threads (Ir per message; all: $VAR/workers-self.txt):"
    head -20 "$VAR/workers-self.txt"
}

pass_alloc
report_alloc >"$COST_VAR/report.txt"
if [ "$CALLGRIND" = 1 ]; then
    pass_callgrind
    report_callgrind >>"$COST_VAR/report.txt"
fi
echo
echo "== Suara cost per message: $SUARA_BIN, $N messages ($SURVEYS surveys), $RATE/s, $(date -u +%Y-%m-%dT%H:%M:%SZ) =="
cat "$COST_VAR/report.txt"
