#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Slowloris benchmark (issue 8): legitimate signed WhatsApp webhooks (the full path: private
# redis-server, nginx as the fast mock provider, the gateway) at a fixed rate, open loop, once
# alone (baseline) and once while bench/slowloris/hostile.c tries to hold HOSTILE connections
# (a third idle, a third trickling a request head, a third trickling a body, one byte every
# TRICKLE_S seconds, re-opened 100 ms after the gateway closes them) from ADDRS loopback source
# addresses 127.0.0.2 and up. The gateway runs with MAX_CONNS / PER_ADDRESS, so both caps and the
# header, body and idle deadlines are exercised; the legitimate client (127.0.0.1) opens its
# connections before the attack starts. Prints legit req/s and p50/p99 for both runs, what the
# attacker held, and the gateway's refusal / time-out counters. Loopback only, bounded (about
# 2 x DURATION + 20 s); everything it starts is stopped by PID.
#   bench/slowloris/run.sh          DURATION=20 RATE=200 CONNS=16 HOSTILE=1000 ADDRS=14 MAX_CONNS=900
# BUILD_DIR (default build/) is where the gateway is built (RelWithDebInfo); SUARA_BIN skips it.
# HOSTILE_PORT (default GW_PORT) aims the attack elsewhere: a control run (bench/README.md).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/deploy/lib.sh"
. "$ROOT/bench/lib.sh"
DURATION=${DURATION:-20}
RATE=${RATE:-200}
CONNS=${CONNS:-16}
WORKERS=${WORKERS:-2}
HOSTILE=${HOSTILE:-1000}
ADDRS=${ADDRS:-14}
TRICKLE_S=${TRICKLE_S:-3}
MAX_CONNS=${MAX_CONNS:-900}
PER_ADDRESS=${PER_ADDRESS:-64}
PROV_PORT=${PROV_PORT:-18092}
BASE_PORT=${BASE_PORT:-18091}
GW_PORT=${GW_PORT:-18090}
# The attack's target; another port (a listener of your own) is the control run that shows what
# the attack costs the machine (client, kernel) without the gateway's share.
HOSTILE_PORT=${HOSTILE_PORT:-$GW_PORT}
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
VAR="$ROOT/bench/slowloris/var"

install_deps
dpkg-query -W -f='${Status}' nginx-light 2>/dev/null | grep -q "install ok installed" ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
if [ -z "${SUARA_BIN:-}" ]; then
    build "$BUILD_DIR"
    SUARA_BIN="$BUILD_DIR/gateway/suara"
fi
ulimit -n "$(ulimit -Hn)"

bench_prepare
cc -O2 -Wall -Wextra -Werror -o "$VAR/hostile" "$ROOT/bench/slowloris/hostile.c"
HOSTILE_PID=
cleanup() {
    [ -n "$HOSTILE_PID" ] && kill "$HOSTILE_PID" 2>/dev/null || true
    bench_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SENDERS=$(((RATE * DURATION * 2 + 5) / 6 + 100))
say "generating $SENDERS surveys of signed webhooks"
python3 "$ROOT/bench/gen_requests.py" --senders "$SENDERS" --run "$(date +%s)" --out "$VAR/requests.txt"

INI_SERVER_EXTRA="max_connections = $MAX_CONNS
max_connections_per_address = $PER_ADDRESS"
bench_write_ini
bench_start_gateway

metrics() { curl -fs "http://127.0.0.1:$GW_PORT/metrics" 2>/dev/null | grep '^suara_connections' || true; }
legit() { # skip
    "$VAR/loadgen" -p "$GW_PORT" -u /webhooks/wa -f "$VAR/requests.txt" -c "$CONNS" -t 1 \
        -d "$DURATION" -r "$RATE" -s "$1" | grep '^RESULT' || true
}

say "1/2 baseline: $RATE legit webhooks/s for ${DURATION}s, no attack"
BASE=$(legit 0)
USED=$(field "$BASE" requests)
sleep 1

say "2/2 the same while $HOSTILE hostile connections from $ADDRS addresses are held"
legit "$USED" >"$VAR/legit.out" &
LEGIT_PID=$!
sleep 0.5 # the legitimate client's keep-alive connections are in before the attack
"$VAR/hostile" -p "$HOSTILE_PORT" -n "$HOSTILE" -a "$ADDRS" -t "$TRICKLE_S" -d "$DURATION" \
    >"$VAR/hostile.out" &
HOSTILE_PID=$!
sleep $((DURATION / 2))
MID=$(metrics)
wait "$LEGIT_PID" || true
wait "$HOSTILE_PID" || true
HOSTILE_PID=
UNDER=$(cat "$VAR/legit.out")
HOST=$(grep '^RESULT' "$VAR/hostile.out" || true)
END=$(metrics)

line() { printf '%-34s: %7s req/s  p50 %7s ms  p99 %7s ms  max %7s ms  non-2xx %s errors %s (%s requests)\n' \
    "$1" "$(field "$2" rps)" "$(field "$2" p50_ms)" "$(field "$2" p99_ms)" "$(field "$2" max_ms)" \
    "$(field "$2" non2xx)" "$(field "$2" errors)" "$(field "$2" requests)"; }
cat <<TXT

== Suara slowloris benchmark: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ); caps $MAX_CONNS total / $PER_ADDRESS per address ==
$(line "legit, no attack" "$BASE")
$(line "legit, $HOSTILE hostile held" "$UNDER")
legit p99 under attack (target < 50 ms): $(field "$UNDER" p99_ms) ms
attacker (client view)             : opened $(field "$HOST" opened), closed by the gateway $(field "$HOST" closed_by_server), held at most $(field "$HOST" held_max), at the end $(field "$HOST" held_end)
gateway, mid-attack: $(echo "$MID" | grep '^suara_connections_open' || echo "(the /metrics scrape, a fresh connection, was refused: the total cap was full)")
gateway, at the end:
$(echo "$END" | sed 's/^/  /')
TXT
