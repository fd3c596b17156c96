#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs what is missing, builds (Release, build/), and runs the whole test suite with CTest.
# Extra arguments go to ctest (e.g. ./scripts/test.sh -R rapl).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

jb_install_packages
# Benchmarks (tests/bench) are run on demand, not by CTest: CI skips building them to stay
# within its time budget. JB_BUILD_BENCH=1 builds them too.
if [ "${JB_BUILD_BENCH:-0}" = 1 ]; then bench=ON; else bench=OFF; fi
jb_build -DJOULEBENCH_BUILD_BENCH=$bench
cd "$JB_BUILD"
export QT_QPA_PLATFORM=offscreen
ctest --output-on-failure -j"$(nproc)" "$@"
