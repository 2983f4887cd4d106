#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Starts / stops the private redis-server the test suite uses (a ctest fixture).
#   redis_fixture.sh start DIR   -> redis on unix socket DIR/redis.sock, data in DIR, AOF on
#   redis_fixture.sh stop DIR    -> stops exactly the server started above (by its PID file)
# Configured for Suara's contract: appendonly yes, noeviction, no-appendfsync-on-rewrite no.
set -eu
cmd=$1
dir=$2
case "$cmd" in
start)
    mkdir -p "$dir"
    if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
        kill "$(cat "$dir/redis.pid")" || true
        sleep 0.2
    fi
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
    if [ -f "$dir/redis.pid" ]; then
        pid=$(cat "$dir/redis.pid")
        kill "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do i=$((i + 1)); sleep 0.05; done
        rm -f "$dir/redis.pid"
    fi
    ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
