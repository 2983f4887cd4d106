#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, from a fresh Debian 12 machine (as root): installs what is missing,
# builds twice (plain, and with AddressSanitizer + UndefinedBehaviorSanitizer) and runs every
# test in both builds under ctest. The suite starts and stops its own redis-server and mock
# provider (loopback / unix sockets only).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/deploy/lib.sh"
install_deps
# The fault-harness scenarios (tests/faults/, ctest label faults) run at their small size in both
# builds; SUARA_FAULT_TESTS=OFF leaves them out (e.g. for a quick local run).
FAULTS=-DSUARA_FAULT_TESTS=${SUARA_FAULT_TESTS:-ON}
build "$ROOT/build" -DSUARA_WERROR=ON "$FAULTS"
build "$ROOT/build-asan" -DSUARA_SANITIZE=ON -DSUARA_WERROR=ON "$FAULTS"
jobs=$(nproc)
status=0
say "tests (plain build)"
(cd "$ROOT/build" && ctest --output-on-failure -j "$jobs") || status=1
say "tests (ASan + UBSan build)"
(cd "$ROOT/build-asan" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j "$jobs") || status=1
exit $status
