# SPDX-License-Identifier: Apache-2.0
# The start-up shared by the benchmarks (bench/run.sh, bench/cost.sh, bench/slowloris/run.sh):
# a private redis-server, one nginx in its own prefix (static 200 baseline + fast mock WhatsApp
# provider), the bench config and the gateway, plus the probes they read (outbox backlog, age of
# the oldest event not yet in SQLite, Redis CPU). Sourced after deploy/lib.sh, not run. Expects
# ROOT, VAR, GW_PORT, BASE_PORT, PROV_PORT and WORKERS; sets RCLI and GW_PID. Everything started
# here is stopped by PID in bench_cleanup.

GW_PID=

# bench_prepare: a fresh VAR with its own loadgen, redis-server and nginx.
bench_prepare() {
    rm -rf "$VAR"
    mkdir -p "$VAR"
    cc -O2 -Wall -Wextra -Werror -pthread -o "$VAR/loadgen" "$ROOT/bench/loadgen.c"
    start_redis "$VAR/redis"
    RCLI="redis-cli -s $VAR/redis/redis.sock"
    sed -e "s#@VAR@#$VAR#g" -e "s#@BASELINE_PORT@#$BASE_PORT#g" \
        -e "s#@PROVIDER_PORT@#$PROV_PORT#g" "$ROOT/bench/nginx.conf.in" >"$VAR/nginx.conf"
    nginx -p "$VAR" -c "$VAR/nginx.conf" -e "$VAR/nginx-error.log"
}

# bench_cleanup: stops the gateway (waiting for it: a profiler may be writing), nginx, Redis.
bench_cleanup() {
    if [ -n "$GW_PID" ]; then kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true; fi
    stop_pidfile "$VAR/nginx.pid"
    # bench data need not be saved: SHUTDOWN NOSAVE is quick even with 100k sessions in the AOF
    [ -S "$VAR/redis/redis.sock" ] &&
        redis-cli -s "$VAR/redis/redis.sock" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    stop_pidfile "$VAR/redis/redis.pid"
}

# bench_write_ini: VAR/bench.ini; INI_SERVER_EXTRA holds further [server] lines.
bench_write_ini() {
    cat >"$VAR/bench.ini" <<INI
[server]
listen = 127.0.0.1
port = $GW_PORT
workers = $WORKERS
log_level = warn
data_dir = $ROOT/dialogs/data
${INI_SERVER_EXTRA:-}
[redis]
socket = $VAR/redis/redis.sock
prefix = bench:
[store]
sqlite_path = $VAR/suara.db
[privacy]
citizen_hash_key = bench-citizen-hash-key-0123456789
[channel.wa]
type = whatsapp
app_secret = bench-app-secret
verify_token = bench-verify
access_token = bench-access-token
phone_number_id = 100000000000001
api_base = http://127.0.0.1:$PROV_PORT/graph
INI
}

# bench_start_gateway [wrapper args...]: imports the demo officers and serves VAR/bench.ini,
# run under the wrapper if given (valgrind, env LD_PRELOAD=...), until /readyz answers (at most
# READY_S seconds, default 10).
bench_start_gateway() {
    "$SUARA_BIN" import-officers -c "$VAR/bench.ini" "$ROOT/deploy/demo/officers.csv" >/dev/null
    "$@" "$SUARA_BIN" serve -c "$VAR/bench.ini" 2>"$VAR/suara.log" &
    GW_PID=$!
    for _ in $(seq $((${READY_S:-10} * 20))); do
        curl -fs "http://127.0.0.1:$GW_PORT/readyz" >/dev/null 2>&1 && break
        kill -0 "$GW_PID" 2>/dev/null || break
        sleep 0.05
    done
    curl -fs "http://127.0.0.1:$GW_PORT/readyz" >/dev/null 2>&1 || {
        cat "$VAR/suara.log" >&2
        exit 1
    }
}

# field RESULT KEY: one key=value of a loadgen RESULT line
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'; }

# outbox entries not yet acknowledged by the sender (pending + never delivered)
outbox_backlog() {
    $RCLI --raw XINFO GROUPS bench:outbox 2>/dev/null |
        awk 'p {s += $1; p = 0} /^(pending|lag)$/ {p = 1} END {print s + 0}'
}

# age in ms of the oldest event not yet in SQLite (the writer XDELs what it committed)
events_age_ms() {
    id=$($RCLI --raw XRANGE bench:events - + COUNT 1 2>/dev/null | head -1)
    [ -n "$id" ] || { echo 0; return; }
    echo $(($(date +%s%3N) - ${id%-*}))
}

# wait_drained TRIES: until every reply is sent and every event is in SQLite (0.05 s per try)
wait_drained() {
    for _ in $(seq "$1"); do
        [ "$(outbox_backlog)" = 0 ] && [ "$(events_age_ms)" = 0 ] && return 0
        sleep 0.05
    done
    return 1
}

# redis_cpu_us: redis-server's user + system CPU so far, in microseconds (INFO cpu: getrusage
# of the whole process, main thread and background I/O threads)
redis_cpu_us() {
    $RCLI INFO cpu | tr -d '\r' |
        awk -F: '$1 == "used_cpu_sys" || $1 == "used_cpu_user" {s += $2} END {printf "%.0f", s * 1e6}'
}
