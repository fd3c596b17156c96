#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs what is missing, builds (Release, build/), and runs the whole test suite with CTest.
# Extra arguments go to ctest (e.g. ./scripts/test.sh -R rapl).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

jb_install_packages
jb_build
cd "$JB_BUILD"
export QT_QPA_PLATFORM=offscreen
ctest --output-on-failure -j"$(nproc)" "$@"
