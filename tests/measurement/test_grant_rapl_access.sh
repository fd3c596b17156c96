#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# scripts/grant-rapl-access.sh on a fake powercap tree: energy_uj becomes 0440 with the chosen
# group (never world-readable), the udev rule is written, --uninstall removes it.
set -euo pipefail
script="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
root="$tmp/sys/class/powercap"
mkdir -p "$root/intel-rapl:0" "$root/intel-rapl:0:0" "$root/intel-rapl"
for z in intel-rapl:0 intel-rapl:0:0; do
    echo 123 > "$root/$z/energy_uj"
    chmod 0400 "$root/$z/energy_uj"
done
group="$(id -gn)"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$script" --group "$group" --root "$root" --udev-dir "$tmp/udev" --no-reload
for z in intel-rapl:0 intel-rapl:0:0; do
    mode="$(stat -c %a "$root/$z/energy_uj")"
    [ "$mode" = 440 ] || fail "$z/energy_uj has mode $mode, expected 440"
    [ "$(stat -c %G "$root/$z/energy_uj")" = "$group" ] || fail "$z/energy_uj not in group $group"
done
rule="$tmp/udev/70-joulebench-rapl.rules"
[ -f "$rule" ] || fail "no udev rule written"
grep -q "KERNEL==\"intel-rapl:\*\"" "$rule" || fail "rule does not match intel-rapl zones"
grep -q "chgrp $group /sys%p/energy_uj" "$rule" || fail "rule does not set the group"
grep -q "chmod 0440 /sys%p/energy_uj" "$rule" || fail "rule does not set mode 0440"
[ "$(grep -o 'chmod [^ ]*' "$rule")" = "chmod 0440" ] || fail "rule sets another mode"
if grep -Eq 'o\+r|a\+r' "$rule"; then fail "rule makes energy_uj world-readable"; fi
"$script" --group 'bad name' --root "$root" --udev-dir "$tmp/udev" --no-reload 2>/dev/null && fail "bad group accepted"
"$script" --uninstall --udev-dir "$tmp/udev" --no-reload
[ ! -e "$rule" ] || fail "--uninstall left the rule"
echo "grant-rapl-access.sh: OK"
