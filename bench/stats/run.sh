#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The statistics benchmark (not a timed test). Builds the evaluation-store library
# (RelWithDebInfo, as deployed) and bench/stats/statsbench.c against it, generates one year of a
# city's data once (25 units, 500 officers, 220,000 complaints, ~1.2 million complaint_events,
# 150,000 surveys; kept in BUILD_DIR/bench-stats/year.sqlite, REGEN=1 remakes it), then times each
# statistic RUNS times on one read-only connection and prints p50 / p95 / max in ms (the query
# and its JSON, as an API worker builds it; gateway/stats_render.c is compiled in), and the
# query's own p50 / p95.
# The target: Q3 response times grouped by officer under 200 ms at p95.
#   bench/stats/run.sh              RUNS=50 BUILD_DIR=build-stats
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RUNS=${RUNS:-50}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-stats}
VAR="$BUILD_DIR/bench-stats" # inside the (git-ignored) build directory
DB="$VAR/year.sqlite"

mkdir -p "$VAR"
cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target suara_evalstore >/dev/null
# shellcheck disable=SC2046
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I "$ROOT/store" -I "$ROOT/common" \
    -I "$ROOT/gateway" -o "$VAR/statsbench" "$ROOT/bench/stats/statsbench.c" \
    "$ROOT/gateway/stats_render.c" \
    "$BUILD_DIR/store/libsuara_evalstore.a" "$BUILD_DIR/common/libsuara_common.a" \
    $(pkg-config --libs sqlite3 jansson hiredis libcrypto) -pthread -lm
if [ ! -s "$DB" ] || [ "${REGEN:-0}" = 1 ]; then
    start=$(date +%s)
    "$VAR/statsbench" gen "$DB"
    echo "generation took $(($(date +%s) - start)) s, $(du -h "$DB" | cut -f1)"
fi
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "sqlite $(pkg-config --modversion sqlite3)"
"$VAR/statsbench" time "$DB" "$RUNS"
