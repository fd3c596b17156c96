#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs what is missing, builds, and runs JouleBench: the workbench GUI when a display is
# present, otherwise a default headless experiment that writes a report.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

jb_install_packages
jb_build
BIN="$JB_BUILD/bin"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x "$BIN/joulebench" ] && [ "${JB_HEADLESS:-0}" != 1 ]; then
    exec "$BIN/joulebench" "$@"
fi

OUT="${JB_OUT_DIR:-$JB_ROOT/out}"
mkdir -p "$OUT"
jb_log "no display: running the default headless job, results in $OUT"
"$BIN/joulebench-cli" meters | tee "$OUT/meters.txt"
if "$BIN/joulebench-cli" --help | grep -q '^  run '; then
    DB="$OUT/default.sqlite"
    "$BIN/joulebench-cli" run --plan "$JB_ROOT/resources/plans/default.json" --db "$DB"
    if "$BIN/joulebench-cli" --help | grep -q '^  report '; then
        "$BIN/joulebench-cli" report --db "$DB" --experiment last --format html --out "$OUT/report.html"
        jb_log "report: $OUT/report.html"
    else
        "$BIN/joulebench-cli" compare --db "$DB" --experiment last | tee "$OUT/compare.txt"
        jb_log "comparison table: $OUT/compare.txt"
    fi
else
    # Until the experiment runner exists: measure a 5 s window of this machine.
    "$BIN/joulebench-cli" measure --duration 5 | tee "$OUT/measure.txt"
    jb_log "measurement: $OUT/measure.txt"
fi
