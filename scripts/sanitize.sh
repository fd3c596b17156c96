#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the whole test suite with AddressSanitizer + UndefinedBehaviorSanitizer (gcc,
# -DJOULEBENCH_SANITIZE=address,undefined, folder build-asan) and runs it with CTest.
# Any sanitizer report fails the test that triggered it (halt_on_error).
#
# Usage: scripts/sanitize.sh [ctest arguments, e.g. -R plan]
# Environment: JB_SANITIZE (default address,undefined), JB_SANITIZE_BUILD (default build-asan),
#   JB_SANITIZE_TARGETS (build only these targets, e.g. the core tests; see docs/robustness.md).
#
# Not part of .ci/run: the instrumented build alone takes longer than the whole normal CI run on
# 2 cores (figures in docs/robustness.md). Run it before a release and after touching parsers.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
jb_install_packages

JB_BUILD=${JB_SANITIZE_BUILD:-$JB_ROOT/build-asan}
config=(-DJOULEBENCH_SANITIZE="${JB_SANITIZE:-address,undefined}" -DJOULEBENCH_BUILD_BENCH=OFF
        -DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ -n "${JB_SANITIZE_TARGETS:-}" ]; then
    # A part of the suite: build only these targets (then pass a matching -R to ctest).
    cmake -S "$JB_ROOT" -B "$JB_BUILD" -G Ninja "${config[@]}" >/dev/null
    cmake --build "$JB_BUILD" -j"$(nproc)" --target $JB_SANITIZE_TARGETS
else
    jb_build "${config[@]}"
fi

# libtorch and Qt are not instrumented; their one-time allocations at exit are not leaks of
# ours, so leak checking uses the suppressions in tests/sanitize/lsan.supp.
# verify_asan_link_order=0: tests that LD_PRELOAD a library (the reference BLAS) still run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:detect_odr_violation=0:verify_asan_link_order=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$JB_ROOT/tests/sanitize/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$JB_ROOT/tests/sanitize/ubsan.supp}
export QT_QPA_PLATFORM=offscreen
cd "$JB_BUILD"
ctest --output-on-failure -j"$(nproc)" "$@"
