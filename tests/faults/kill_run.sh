#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Fault test: SIGKILL a running `joulebench-cli run` at random moments, KILLS times (default 20),
# on one database, and after every kill check that
#   - PRAGMA integrity_check is ok and PRAGMA foreign_key_check finds nothing,
#   - every run that had ended (completed, failed, cancelled, interrupted) is byte-for-byte
#     unchanged (a digest of all its rows: run, domains, phases, phase energy, metrics, sample
#     chunks, run aggregates, artifacts, technique logs),
#   - a run left 'running' belongs to the killed process, and the next read-write open (the
#     next `run --resume`) stores it as 'interrupted' with an error naming the dead process,
# and finally that `run --resume` completes the plan: every (configuration, repetition) has
# exactly one completed run, so completed ones were skipped, never measured twice.
#
# usage: kill_run.sh <joulebench-cli> [kills] [seed]
#   KILL_KEEP=1 keeps the scratch folder. Exit 77 (CTest: skipped) without Fashion-MNIST.
# Needs: bash, sqlite3 (scripts/lib.sh installs it), coreutils.
set -u -o pipefail

CLI=${1:?usage: kill_run.sh <joulebench-cli> [kills] [seed]}
KILLS=${2:-20}
SEED=${3:-$(( $(date +%s) % 32768 ))}
RANDOM=$SEED

fail() { echo "kill_run: FAIL: $*" >&2; exit 1; }
note() { echo "kill_run: $*"; }

command -v sqlite3 >/dev/null || fail "sqlite3 is missing; install the Debian package sqlite3"
[ -x "$CLI" ] || fail "$CLI is not an executable joulebench-cli"
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
    echo "kill_run: SKIP: Fashion-MNIST is not installed (dataset-fashion-mnist)"
    exit 77
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/jb-kill-run.XXXXXX")
if [ "${KILL_KEEP:-0}" = 1 ]; then note "scratch folder kept: $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi
DB=$WORK/kill.sqlite
PLAN=$WORK/plan.json
REPS=80
# Many short runs (~0.6 s each: idle, train or a cached baseline, evaluate, inference), so the
# kills land in every phase, in sample writes and in the end-of-run transaction.
cat >"$PLAN" <<EOF
{ "version": 1, "name": "kill-run",
  "dataset": { "name": "fashion-mnist", "trainLimit": 512, "testLimit": 128 },
  "model": { "zoo": "mlp" }, "training": { "epochs": 1, "batchSize": 64 },
  "repetitions": $REPS,
  "inference": { "batchSizes": [1, 16], "batches": 10, "warmupBatches": 2 },
  "measurement": { "idleBefore": 0.5, "samplingHz": 50 } }
EOF
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 JOULEBENCH_PLUGIN_PATH=
RUN_ARGS=(run --plan "$PLAN" --db "$DB" --resume --meters estimate)

# Only on an existing file: sqlite3 creates a missing one (0 bytes, which JouleBench refuses).
q() { sqlite3 -batch -noheader "$DB" "$@"; }

# Every row a run owns, in a fixed order, hashed.
digest() {
    local r=$1
    q "SELECT 'run', id, experiment_id, variant, chain_json, backend, repetition, config_key,
              config_json, env_json, status, flags, error, started, ended, owner_pid,
              owner_host, owner_token FROM run WHERE id = $r;
       SELECT 'domain', id, name, kind, meter_id FROM run_domain WHERE run_id = $r ORDER BY id;
       SELECT 'phase', id, name, ordinal, quote(t_start), quote(duration) FROM phase
              WHERE run_id = $r ORDER BY id;
       SELECT 'energy', phase_id, domain, kind, quote(gross_j), quote(net_j),
              quote(avg_power_w) FROM phase_energy
              WHERE phase_id IN (SELECT id FROM phase WHERE run_id = $r) ORDER BY 2, 3;
       SELECT 'metric', id, phase, name, quote(value), unit, kind FROM metric
              WHERE run_id = $r ORDER BY id;
       SELECT 'chunk', id, domain_id, seq, n, quote(t0), quote(t1), quote(j0), quote(j1),
              quote(prev_t), quote(prev_j), quote(p_min), quote(p_max), codec, hex(blocks),
              hex(data) FROM sample_chunk
              WHERE domain_id IN (SELECT id FROM run_domain WHERE run_id = $r) ORDER BY id;
       SELECT 'aggregate', domain_id, samples, quote(joules), quote(duration_s),
              quote(avg_power_w), quote(peak_power_w) FROM run_energy
              WHERE domain_id IN (SELECT id FROM run_domain WHERE run_id = $r) ORDER BY 2;
       SELECT 'artifact', id, kind, path, sha256, bytes, created FROM artifact
              WHERE run_id = $r ORDER BY id;
       SELECT 'log', id, plugin, message, json, created FROM technique_log
              WHERE run_id = $r ORDER BY id;" | sha256sum | cut -c1-64
}

declare -A DIGEST      # run id -> digest, for every run that has ended
declare -A KILLED_PID  # pids this script killed
PENDING=()             # runs left 'running' by a killed process, not yet marked interrupted
KILLED_IN_RUN=0
FINISHED_EARLY=0

check_database() {
    local when=$1 r pid status error
    [ -s "$DB" ] || return 0 # killed before the database was created
    local integrity
    integrity=$(q "PRAGMA integrity_check;") || fail "$when: sqlite3 cannot open $DB"
    [ "$integrity" = ok ] || fail "$when: integrity_check: $integrity"
    [ -z "$(q 'PRAGMA foreign_key_check;')" ] || fail "$when: foreign_key_check is not empty"
    [ "$(q 'SELECT COUNT(*) FROM experiment;')" -le 1 ] || fail "$when: more than one experiment"

    # Runs still 'running' must belong to a process this script killed.
    while IFS='|' read -r r pid; do
        [ -n "$r" ] || continue
        [ -n "${KILLED_PID[$pid]:-}" ] || fail "$when: run $r is 'running', owned by pid $pid, which was not killed"
        [[ " ${PENDING[*]} " == *" $r "* ]] || { PENDING+=("$r"); KILLED_IN_RUN=$((KILLED_IN_RUN + 1)); }
    done < <(q "SELECT id, owner_pid FROM run WHERE status = 'running';")

    # Runs left running by a killed process become 'interrupted' at the next read-write open.
    local still=()
    for r in "${PENDING[@]}"; do
        IFS='|' read -r status pid error < <(q "SELECT status, owner_pid, error FROM run WHERE id = $r;")
        case $status in
            running) still+=("$r") ;;
            interrupted)
                [[ $error == interrupted:*"pid $pid "* ]] ||
                    fail "$when: interrupted run $r has error text '$error'" ;;
            *) fail "$when: run $r of a killed process became '$status', not 'interrupted'" ;;
        esac
    done
    PENDING=("${still[@]}")

    # Every run that has ended keeps exactly the rows it had.
    while read -r r; do
        [ -n "$r" ] || continue
        local d
        d=$(digest "$r")
        if [ -z "${DIGEST[$r]:-}" ]; then
            DIGEST[$r]=$d
        elif [ "${DIGEST[$r]}" != "$d" ]; then
            fail "$when: run $r changed after it had ended (digest ${DIGEST[$r]:0:12} -> ${d:0:12})"
        fi
    done < <(q "SELECT id FROM run WHERE status <> 'running' ORDER BY id;")
}

note "seed $SEED, $KILLS kills, plan of $REPS runs, scratch $WORK"
for ((i = 1; i <= KILLS; i++)); do
    # 0.1 .. 4.0 s: from start-up (library and data loading, database open) to several runs in.
    delay=$(printf '0.%03d' $((RANDOM % 1000)))
    delay=$(awk -v d="$delay" -v s=$((RANDOM % 4)) 'BEGIN { v = s + d; if (v < 0.1) v = 0.1; print v }')
    "$CLI" "${RUN_ARGS[@]}" >"$WORK/run-$i.log" 2>&1 &
    pid=$!
    sleep "$delay"
    if kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null; then
        KILLED_PID[$pid]=1
        wait "$pid" 2>/dev/null
        outcome="killed after $delay s"
    else
        wait "$pid"
        rc=$?
        [ $rc -eq 0 ] || { cat "$WORK/run-$i.log" >&2; fail "kill $i: the run exited with $rc before the kill"; }
        FINISHED_EARLY=$((FINISHED_EARLY + 1))
        outcome="finished before the kill at $delay s"
    fi
    check_database "kill $i"
    done_runs=0 # (sqlite3 would create a missing file, which the next run must not find)
    [ -s "$DB" ] && done_runs=$(q "SELECT COUNT(*) FROM run WHERE status = 'completed';")
    note "kill $i: $outcome; $done_runs completed, ${#PENDING[@]} left running by the killed process"
done

note "resuming without a kill"
"$CLI" "${RUN_ARGS[@]}" >"$WORK/resume.log" 2>&1 || { cat "$WORK/resume.log" >&2; fail "run --resume failed"; }
check_database "after resume"
[ ${#PENDING[@]} -eq 0 ] || fail "runs ${PENDING[*]} are still 'running' after a read-write open"
[ -z "$(q "SELECT id FROM run WHERE status = 'running';")" ] || fail "a run is still 'running'"
dups=$(q "SELECT config_key, repetition FROM run WHERE status = 'completed'
          GROUP BY config_key, repetition HAVING COUNT(*) > 1;")
[ -z "$dups" ] || fail "configurations measured twice despite --resume: $dups"
completed=$(q "SELECT COUNT(*) FROM run WHERE status = 'completed';")
[ "$completed" -eq "$REPS" ] || fail "$completed of $REPS runs completed after the resume"
reps=$(q "SELECT COUNT(DISTINCT repetition) FROM run WHERE status = 'completed';")
[ "$reps" -eq "$REPS" ] || fail "only $reps distinct repetitions completed"
skipped=$(grep -o '[0-9]* already completed' "$WORK/resume.log" | head -1)
interrupted=$(q "SELECT COUNT(*) FROM run WHERE status = 'interrupted';")
note "OK: $KILLS kills ($FINISHED_EARLY finished first), $KILLED_IN_RUN inside a run, all" \
     "$interrupted of them stored as interrupted; integrity ok after every kill;" \
     "${#DIGEST[@]} ended runs unchanged; resume: ${skipped:-0 already completed}, $completed/$REPS completed"
[ "$interrupted" -eq "$KILLED_IN_RUN" ] || fail "$KILLED_IN_RUN runs were killed but $interrupted are interrupted"
[ "$KILLED_IN_RUN" -ge 1 ] || fail "no kill landed inside a run; the test proved nothing (seed $SEED)"
exit 0
