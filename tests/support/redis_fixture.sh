#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Starts / stops the private redis-server the test suite uses (a ctest fixture).
#   redis_fixture.sh start DIR   -> redis on unix socket DIR/redis.sock, data in DIR, AOF on
#   redis_fixture.sh stop DIR    -> stops exactly the server started above (by its PID file)
# Configured for Suara's contract: appendonly yes, noeviction, no-appendfsync-on-rewrite no.
set -eu
cmd=$1
dir=$2

# Stops the server of DIR's PID file, if any, and waits (bounded: 5 s) until it has ended; the
# sleep is the poll step of that wait.
stop_server() {
    [ -f "$dir/redis.pid" ] || return 0
    pid=$(cat "$dir/redis.pid")
    kill "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.05; done
    rm -f "$dir/redis.pid"
}

case "$cmd" in
start)
    mkdir -p "$dir"
    stop_server # one left by an interrupted run
    rm -f "$dir"/*.aof "$dir"/appendonlydir/* "$dir/dump.rdb" 2>/dev/null || true
    redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
        --dir "$dir" --pidfile "$dir/redis.pid" --daemonize yes \
        --appendonly yes --appendfsync everysec --no-appendfsync-on-rewrite no \
        --maxmemory 512mb --maxmemory-policy noeviction --save "" \
        --logfile "$dir/redis.log" --databases 64
    i=0
    until redis-cli -s "$dir/redis.sock" ping >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -gt 100 ] && { echo "redis did not start; see $dir/redis.log" >&2; exit 1; }
        sleep 0.05
    done
    ;;
stop)
    stop_server
    ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
