#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) and runs each for a
# given time, starting from the seed corpus in tests/fuzz/corpus/<target>/.
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#   SECONDS_PER_TARGET  default 600 (the 10 minutes of docs/robustness.md)
#   TARGET              idx cifar plan plugin_metadata run_events (default: all, one after another)
# Environment: JB_FUZZ_BUILD (build folder, default build-fuzz), JB_FUZZ_JOBS (parallel fuzzing
#   processes per target, default 1), JB_FUZZ_OUT (findings and logs, default fuzz-out).
# New inputs that raise coverage go to JB_FUZZ_OUT/corpus/<target>/ (not into the committed
# seed corpus); a crash is written to JB_FUZZ_OUT/crash-<target>-* and the script exits 1.
# Replay one with: build/bin/fuzz_replay_<target> FILE (or the fuzz binary itself).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
jb_install_packages

SECONDS_PER_TARGET=${1:-600}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(idx cifar plan plugin_metadata run_events)
BUILD=${JB_FUZZ_BUILD:-build-fuzz}
OUT=${JB_FUZZ_OUT:-fuzz-out}
JOBS=${JB_FUZZ_JOBS:-1}

cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DJOULEBENCH_FUZZ=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target $(printf 'fuzz_%s ' "${TARGETS[@]}")

mkdir -p "$OUT"
status=0
parallel=()
# libFuzzer's -jobs runs children that log to fuzz-<n>.log in the current folder: only when asked.
[ "$JOBS" -gt 1 ] && parallel=(-jobs="$JOBS" -workers="$JOBS")
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in "${TARGETS[@]}"; do
    mkdir -p "$OUT/corpus/$t"
    log="$OUT/$t.log"
    echo "== fuzz_$t for ${SECONDS_PER_TARGET}s (log: $log)"
    if ! "$BUILD/bin/fuzz_$t" "$OUT/corpus/$t" "tests/fuzz/corpus/$t" \
            -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -rss_limit_mb=4096 \
            -timeout=20 "${parallel[@]}" -print_final_stats=1 \
            -artifact_prefix="$OUT/crash-$t-" >"$log" 2>&1; then
        echo "   FINDING: see $log and $OUT/crash-$t-*"
        status=1
    fi
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$log" | sed 's/^/   /' || true
done
exit $status
