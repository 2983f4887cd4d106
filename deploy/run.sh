#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Runs Suara locally on the demo configuration, from a fresh Debian 12 machine (as root):
# installs what is missing, builds, starts a private redis-server (AOF on, data in var/redis),
# a local mock provider on 127.0.0.1:8090 standing in for WhatsApp and Twilio, imports the demo
# units and officers into the SQLite evaluation store (var/suara.db), and runs the gateway on
# 127.0.0.1:8080 in the foreground. Ctrl-C stops the gateway, the mock provider and redis.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/deploy/lib.sh"
install_deps
build "$ROOT/build"
cd "$ROOT"
mkdir -p var
start_redis "$ROOT/var/redis"
cleanup() {
    stop_pidfile "$ROOT/var/mock.pid"
    stop_pidfile "$ROOT/var/redis/redis.pid"
}
trap cleanup EXIT INT TERM
if ! [ -f var/mock.pid ] || ! kill -0 "$(cat var/mock.pid)" 2>/dev/null; then
    python3 tests/support/mock_provider.py --port 8090 --pid-file var/mock.pid \
        >var/mock.log 2>&1 &
fi
./build/gateway/suara check-config -c deploy/demo.ini
./build/gateway/suara import-officers -c deploy/demo.ini deploy/demo/officers.csv
cat >&2 <<TXT

Suara is starting on http://127.0.0.1:8080 (demo config: deploy/demo.ini).
From another terminal, send a first signed WhatsApp test message and answer the survey:
    ./deploy/send-demo.sh "NILAI BMK001"
    ./deploy/send-demo.sh 4
and look at what Suara sent back (the mock provider records it):
    curl -s http://127.0.0.1:8090/_requests
File a complaint (the officer's number is 6280000000102, see README "Complaints"):
    ./deploy/send-demo.sh "ADUAN PATEN-BMK Antrean KTP sudah tiga minggu"
Statistics: T=\$(./build/gateway/suara token create --role admin -c deploy/demo.ini)
    curl -s -H "Authorization: Bearer \$T" http://127.0.0.1:8080/api/v1/stats/response-times
Health: curl http://127.0.0.1:8080/readyz   Metrics: curl http://127.0.0.1:8080/metrics
Ctrl-C stops everything.

TXT
./build/gateway/suara serve -c deploy/demo.ini
