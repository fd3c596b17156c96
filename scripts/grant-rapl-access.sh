#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Gives one group read access to the RAPL energy counters (powercap energy_uj), so JouleBench
# can measure without running as root.
#
# Why this is needed: since Linux 5.10 (and in stable backports) energy_uj is mode 0400
# root:root. CVE-2020-8694 ("Platypus") showed that unprivileged reads of the RAPL energy
# counters are a power side channel that can leak secrets, e.g. cryptographic keys, from other
# processes and from SGX enclaves. This script therefore does NOT make the counters
# world-readable: it gives read access (mode 0440 root:GROUP) to one group of trusted users.
#
# What it does (as root):
#   1. creates the group (default: joulebench) if it does not exist;
#   2. installs a udev rule, so that every intel-rapl zone gets group read access whenever it
#      appears (at boot, or when intel_rapl_msr is reloaded);
#   3. applies the same change to the zones present now.
# Then add users to the group: sudo usermod -aG joulebench "$USER" (and log in again).
#
# Usage: sudo scripts/grant-rapl-access.sh [--group NAME] [--uninstall] [--dry-run]
#        [--root DIR] [--udev-dir DIR] [--no-reload]
#   --root DIR       powercap class directory (default /sys/class/powercap)
#   --udev-dir DIR   where the rule goes (default /etc/udev/rules.d)
#   --no-reload      do not call udevadm (for tests on fake trees)
set -euo pipefail

ARGS="$*"
GROUP=joulebench
ROOT=/sys/class/powercap
UDEV_DIR=/etc/udev/rules.d
RULE_NAME=70-joulebench-rapl.rules
UNINSTALL=0
DRY_RUN=0
RELOAD=1

log() { printf '[grant-rapl-access] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
run() {
    if [ "$DRY_RUN" = 1 ]; then
        printf '[dry-run] %s\n' "$*"
    else
        "$@"
    fi
}

while [ $# -gt 0 ]; do
    case "$1" in
        --group) GROUP="${2:?--group needs a name}"; shift 2 ;;
        --root) ROOT="${2:?--root needs a directory}"; shift 2 ;;
        --udev-dir) UDEV_DIR="${2:?--udev-dir needs a directory}"; shift 2 ;;
        --uninstall) UNINSTALL=1; shift ;;
        --dry-run) DRY_RUN=1; shift ;;
        --no-reload) RELOAD=0; shift ;;
        -h|--help) sed -n '3,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done

case "$GROUP" in
    *[!A-Za-z0-9_-]*|"") die "group name '$GROUP' must be letters, digits, '_' or '-'" ;;
esac
RULE="$UDEV_DIR/$RULE_NAME"

if [ "$UNINSTALL" = 1 ]; then
    if [ -e "$RULE" ]; then
        run rm -f "$RULE"
        log "removed $RULE"
    fi
    [ "$RELOAD" = 1 ] && command -v udevadm >/dev/null && run udevadm control --reload
    log "the counters return to root-only at the next boot (or: modprobe -r intel_rapl_msr && modprobe intel_rapl_msr)"
    exit 0
fi

if [ "$DRY_RUN" = 0 ] && [ "$(id -u)" -ne 0 ] && [ "$RELOAD" = 1 ]; then
    die "run as root: sudo $0 $ARGS"
fi

if ! getent group "$GROUP" >/dev/null; then
    log "creating system group '$GROUP'"
    run groupadd --system "$GROUP"
fi

log "installing udev rule $RULE (mode 0440, group $GROUP, never world-readable: CVE-2020-8694)"
RULE_TEXT="# Installed by JouleBench scripts/grant-rapl-access.sh: RAPL energy counters readable by group
# $GROUP only (not world-readable: CVE-2020-8694, the RAPL power side channel).
ACTION==\"add\", SUBSYSTEM==\"powercap\", KERNEL==\"intel-rapl:*\", RUN+=\"/bin/chgrp $GROUP /sys%p/energy_uj\", RUN+=\"/bin/chmod 0440 /sys%p/energy_uj\""
if [ "$DRY_RUN" = 1 ]; then
    printf '[dry-run] write %s:\n%s\n' "$RULE" "$RULE_TEXT"
else
    mkdir -p "$UDEV_DIR"
    printf '%s\n' "$RULE_TEXT" > "$RULE"
fi
if [ "$RELOAD" = 1 ] && command -v udevadm >/dev/null; then
    run udevadm control --reload
fi

shopt -s nullglob
zones=("$ROOT"/intel-rapl:*)
if [ ${#zones[@]} -eq 0 ]; then
    log "no intel-rapl zone under $ROOT now (no RAPL, or try: modprobe intel_rapl_msr); the rule applies when they appear"
else
    for zone in "${zones[@]}"; do
        f="$zone/energy_uj"
        [ -f "$f" ] || continue
        run chgrp "$GROUP" "$f"
        run chmod 0440 "$f"
    done
    log "applied to ${#zones[@]} zone(s) under $ROOT"
fi
log "done. Add users with: sudo usermod -aG $GROUP \"\$USER\", then log in again; check with: joulebench-cli meters"
