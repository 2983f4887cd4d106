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
#   pass 2, instructions: the gateway and redis-server under valgrind --tool=callgrind (no
#     hardware counters on this VM, so not perf stat): instructions (Ir) per message per thread
#     kind and in redis-server, allocations by calling object file and function, self Ir by
#     object file, and the functions with the most instructions (workers, writer, Redis).
# The CPU figures of pass 1 are timed (at a low rate, on a shared machine): indicative only.
# A warm-up of WARMUP surveys (other senders) runs first in each pass and is not counted: the
# window is opened (counters marked / callgrind zeroed) after it drained and closed once the
# workload drained. Counts move by a few per cent between runs (batching in the writer and the
# outbox follows timing), not with the machine's load.
#   bench/cost.sh                 defaults: SURVEYS=200 WARMUP=20 RATE=25 CONNS=4 WORKERS=2
#   SUARA_BIN=/tmp/b-before/gateway/suara bench/cost.sh     a given binary (RelWithDebInfo)
#   CALLGRIND=0 bench/cost.sh     pass 1 only (about a minute instead of 5-10)
# BUILD_DIR (default build/) is where the gateway is built (RelWithDebInfo); SUARA_BIN skips it.
# Thread kinds come from the start functions worker_main and writer_main (store/writer.c,
# gateway/worker.c); a renamed one shows under its own name (pass 1) or as "other" (pass 2).
# Output: the report on stdout; raw counts, callgrind files and per-function lists in COST_VAR
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
    if [ "$(field "$r" requests)" != "$want" ] || [ "$(field "$r" non2xx)" != 0 ] ||
        [ "$(field "$r" errors)" != 0 ]; then
        echo "workload failed: $r" >&2
        exit 1
    fi
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
    # shellcheck disable=SC2034 # read by start_redis
    REDIS_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=$COST_VAR/redis.out.%p
        --log-file=$COST_VAR/valgrind-redis.log"
    bench_prepare
    REDIS_WRAPPER=
    REDIS_PID=$(cat "$VAR/redis/redis.pid")
    bench_write_ini
    mkdir -p "$VAR/cg"
    # shellcheck disable=SC2034 # read by bench_start_gateway
    READY_S=180
    bench_start_gateway valgrind --tool=callgrind --separate-threads=yes \
        --callgrind-out-file="$VAR/cg/callgrind.out" --log-file="$VAR/valgrind.log"
    say "pass 2 (instructions, callgrind): warm-up $WARMUP surveys, then $N webhooks at $RATE/s"
    send "$COST_VAR/warmup.txt"
    callgrind_control -z "$GW_PID" >/dev/null 2>&1
    callgrind_control -z "$REDIS_PID" >/dev/null 2>&1
    send "$COST_VAR/requests.txt"
    callgrind_control -d "$GW_PID" >/dev/null 2>&1
    callgrind_control -d "$REDIS_PID" >/dev/null 2>&1
    ls "$VAR"/cg/callgrind.out.1-* "$COST_VAR/redis.out.$REDIS_PID.1" >/dev/null ||
        { echo "no callgrind dump" >&2; exit 1; }
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

# threads_of KIND: the callgrind thread files of that kind
threads_of() {
    for f in "$VAR"/cg/callgrind.out.1-??; do
        if [ "$(cg_kind "$f")" = "$1" ]; then echo "$f"; fi
    done
}

# drop_active FILE: FILE.done without the calls still running at the dump (thread start ->
# uv_run -> epoll): callgrind writes them as "calls=0" arcs that carry the whole window.
drop_active() {
    awk 'skip {skip = 0; next} /^calls=0 / {skip = 1; next} {print}' "$1" >"$1.done"
}

# per_fn self|inclusive|dso FILES...: Ir per message and share of the files' total, most first,
# per function (with its object file) or per object file (self). Read from callgrind's own
# format, not callgrind_annotate, which lists a function once per source file name (a build's
# debug info may name one file two ways) and so counts its inclusive cost twice.
per_fn() {
    by=$1
    shift
    awk -v n="$N" -v by="$by" '
        function name(s, tab,   id) { # "(id) name" defines, "(id)" refers
            id = s; sub(/\).*/, "", id); sub(/^\(/, "", id)
            if (s ~ /\) /) { sub(/^\([0-9]+\) /, "", s); tab[id] = s }
            return id }
        /^ob=/ { ob = obs[name(substr($0, 4), obs)]; next }
        /^cob=/ { name(substr($0, 5), obs); next }
        /^fn=/ { o = ob; sub(/.*\//, "", o); f = fns[name(substr($0, 4), fns)] "  (" o ")"
                 fobj[f] = o; next }
        /^cfn=/ { name(substr($0, 5), fns); next }
        /^calls=/ { arc = 1; next }
        /^totals:/ { t += $2; next }
        /^[-+*0-9]/ && f != "" { if (arc) incl[f] += $NF; else { self[f] += $NF; incl[f] += $NF }
                                 arc = 0 }
        END { for (f in self) {
                  if (by == "dso") d[fobj[f]] += self[f]
                  else if (by == "self") d[f] = self[f]
                  else d[f] = incl[f] }
              for (k in d) if (d[k] > 0) printf "%10.0f %5.1f%%  %s\n", d[k] / n, 100 * d[k] / t, k }
    ' "$@" | sort -rn
}

# alloc_callers dso|fn FILES...: calls of malloc / calloc / realloc / the aligned allocators per
# message by the calling object file or function (callgrind's call arcs). Suara's wrappers
# (sr_malloc ..., which jansson also allocates through) pass their calls on to their own callers
# in proportion to the calls each made; libc means strdup, vasprintf and the like.
alloc_callers() {
    by=$1
    shift
    awk -v n="$N" -v by="$by" '
        function name(s, tab,   id) { # "(id) name" defines, "(id)" refers
            id = s; sub(/\).*/, "", id); sub(/^\(/, "", id)
            if (s ~ /\) /) { sub(/^\([0-9]+\) /, "", s); tab[id] = s }
            return id }
        function base(o) { sub(/.*\//, "", o); return o }
        BEGIN { A = "^(malloc|calloc|realloc|memalign|aligned_alloc|posix_memalign)$"
                W = "^sr_(malloc|calloc|realloc|strdup|strndup|asprintf)$" }
        /^ob=/ { ob = obs[name(substr($0, 4), obs)] }
        /^cob=/ { name(substr($0, 5), obs) }
        /^fn=/ { caller = fns[name(substr($0, 4), fns)]; cob = base(ob) }
        /^cfn=/ { callee = fns[name(substr($0, 5), fns)] }
        /^calls=/ { c = $0; sub(/^calls=/, "", c); sub(/ .*/, "", c)
            if (callee ~ A && caller !~ A) a[caller SUBSEP cob] += c
            else if (callee ~ W && caller != callee) {
                win[callee, caller SUBSEP cob] += c; wtot[callee] += c } }
        END {
            for (round = 0; round < 4; round++) {
                moved = 0
                for (k in a) {
                    split(k, p, SUBSEP)
                    if (p[1] !~ W || !wtot[p[1]]) continue
                    for (wk in win) {
                        split(wk, q, SUBSEP)
                        if (q[1] == p[1]) b[q[2] SUBSEP q[3]] += a[k] * win[wk] / wtot[p[1]]
                    }
                    delete a[k]; moved = 1
                }
                for (k in b) { a[k] += b[k]; delete b[k] }
                if (!moved) break
            }
            for (k in a) { split(k, p, SUBSEP); t += a[k]
                           r[by == "dso" ? p[2] : p[1] "  (" p[2] ")"] += a[k] }
            for (k in r) printf "%8.1f %5.1f%%  %s\n", r[k] / n, 100 * r[k] / t, k
            printf "%8.1f %5.1f%%  %s\n", t / n, 100, "all (callgrind call counts)" }' "$@" |
        sort -rn
}

report_callgrind() {
    echo "-- instructions per message ($N messages, callgrind) --"
    printf '%-12s %6s %11s\n' "threads" "count" "Ir/msg"
    for f in "$VAR"/cg/callgrind.out.1-??; do
        echo "$(cg_kind "$f") $(awk '/^totals:/ {print $2}' "$f")"
        drop_active "$f"
    done | awk -v n="$N" '{ir[$1] += $2; c[$1]++; t += $2}
        END { for (k in ir) printf "1 %-12s %6d %11.0f\n", k, c[k], ir[k] / n
              printf "2 %-12s %6s %11.0f\n", "total", "", t / n }' | sort -k1,2 | cut -c3-
    workers=$(threads_of workers | sed 's/$/.done/')
    writer=$(threads_of writer | sed 's/$/.done/')
    # shellcheck disable=SC2086
    per_fn inclusive $workers >"$VAR/workers-inclusive.txt"
    # shellcheck disable=SC2086
    per_fn self $workers >"$VAR/workers-self.txt"
    # shellcheck disable=SC2086
    per_fn inclusive $writer >"$VAR/writer-inclusive.txt"
    per_fn dso "$VAR"/cg/callgrind.out.1-??.done >"$VAR/by-dso.txt"
    alloc_callers fn "$VAR"/cg/callgrind.out.1-??.done >"$VAR/alloc-callers.txt"
    echo "allocations by the calling object file, all threads (per message, share):"
    alloc_callers dso "$VAR"/cg/callgrind.out.1-??.done
    echo "allocations by calling function (per message; all: $VAR/alloc-callers.txt):"
    head -21 "$VAR/alloc-callers.txt" | tail -20
    echo "by object file, self, all threads (Ir per message, share):"
    head -12 "$VAR/by-dso.txt"
    echo "worker threads, inclusive (Ir per message; all: $VAR/workers-inclusive.txt):"
    head -40 "$VAR/workers-inclusive.txt"
    echo "worker threads, self (Ir per message; all: $VAR/workers-self.txt):"
    head -25 "$VAR/workers-self.txt"
    echo "writer thread, inclusive (Ir per message; all: $VAR/writer-inclusive.txt):"
    head -15 "$VAR/writer-inclusive.txt"
    f=$(ls "$COST_VAR"/redis.out.*.1)
    echo "redis-server: $(awk -v n="$N" '/^totals:/ {printf "%.0f", $2 / n}' "$f") Ir per message"
    drop_active "$f"
    per_fn inclusive "$f.done" >"$VAR/redis-inclusive.txt"
    echo "redis-server, inclusive (Ir per message; all: $VAR/redis-inclusive.txt):"
    head -20 "$VAR/redis-inclusive.txt"
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
