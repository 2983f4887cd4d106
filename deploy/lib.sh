# SPDX-License-Identifier: Apache-2.0
# Shared steps of deploy/run.sh and deploy/test.sh: install what is missing, build.
# Sourced, not run. Expects ROOT (the repository) to be set.

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs the Debian 12 packages in deploy/packages.txt that are not installed yet.
install_deps() {
    missing=$(while read -r p; do
        [ -n "$p" ] || continue
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done <"$ROOT/deploy/packages.txt")
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "missing packages: $missing -- run as root (or install them) first" >&2
        exit 1
    fi
    say "installing: $(echo $missing)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

# build DIR [cmake args...]
build() {
    dir=$1
    shift
    say "building in $dir $*"
    cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j "$(nproc)"
}

# Starts a private redis-server for Suara: unix socket DIR/redis.sock, AOF in DIR, fsync'd
# every second (REDIS_APPENDFSYNC=always: before every reply, the strictest and slowest mode).
# REDIS_WRAPPER, if set, is a command put in front of redis-server (bench/cost.sh: valgrind);
# redis-server then runs in the background without daemonizing, so the wrapper keeps its PID.
start_redis() {
    dir=$1
    mkdir -p "$dir"
    if [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; then
        return 0
    fi
    tries=100
    if [ -n "${REDIS_WRAPPER:-}" ]; then
        redis_server "$dir" no &
        tries=1200 # a profiler makes start-up far slower
    else
        redis_server "$dir" yes
    fi
    for _ in $(seq "$tries"); do
        redis-cli -s "$dir/redis.sock" ping >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "redis-server did not start, see $dir/redis.log" >&2
    exit 1
}

# redis_server DIR DAEMONIZE: start_redis's redis-server command line
redis_server() {
    # shellcheck disable=SC2086 # the wrapper is a command with its arguments
    ${REDIS_WRAPPER:-} redis-server --port 0 --unixsocket "$1/redis.sock" --unixsocketperm 700 \
        --dir "$1" --pidfile "$1/redis.pid" --daemonize "$2" --logfile "$1/redis.log" \
        --appendonly yes --appendfsync "${REDIS_APPENDFSYNC:-everysec}" \
        --no-appendfsync-on-rewrite no --maxmemory-policy noeviction --save ""
}

stop_pidfile() {
    [ -f "$1" ] || return 0
    pid=$(cat "$1")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    rm -f "$1"
}
