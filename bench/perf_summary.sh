#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Summarises a perf profile of the gateway (bench/run.sh's PERF_OUT, or any `perf record -p`):
# the share of samples per DSO (kernel, libc, jansson, libcurl, sqlite, the suara binary, ...),
# then the top symbols with their DSO, self time only (--no-children), no call graphs.
#   bench/perf_summary.sh /tmp/suara.perf [TOP]      TOP symbols, default 40
set -eu
[ $# -ge 1 ] || { echo "usage: $0 PERF_DATA [TOP]" >&2; exit 2; }
echo "== by DSO (self, % of samples) =="
perf report -i "$1" --no-children -g none --sort dso --stdio -q --percent-limit 0.3 2>/dev/null
echo "== top ${2:-40} symbols (self, % of samples) =="
perf report -i "$1" --no-children -g none --sort dso,sym --stdio -q 2>/dev/null | head -n "${2:-40}"
