#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes run_stream.jsonl: the JSON Lines stream of a small experiment (2 runs: baseline and
a pruned variant, phases idle/train/evaluate/inference:b1/inference:b64, samples at 20 Hz),
in the field layout of engine/run_events.cpp (runEventToJson). Deterministic (no randomness).
Regenerate: python3 make_run_stream.py > run_stream.jsonl"""
import json, math

PHASES = [("idle", 2.0, 10.0), ("train", 6.0, 42.0), ("evaluate", 1.5, 30.0),
          ("inference:b1", 2.0, 25.0), ("inference:b64", 1.0, 38.0)]
DOMAINS = [("rapl-powercap", "package-0", "measured"), ("rapl-powercap", "dram", "measured")]
HZ = 20.0
t0 = 0.0
lines = []

def emit(o):
    lines.append(json.dumps(o, separators=(",", ":")))

emit({"event": "experiment-started", "t": 0.0, "experiment": 1, "name": "fixture",
      "plan_hash": "ab" * 32, "database": "/tmp/fixture.sqlite", "shard": "0/1",
      "resumed": False, "runs_total": 2, "runs_to_run": 2, "runs_skipped": 0,
      "estimate_only": False,
      "domains": [{"meter": m, "domain": d, "kind": k, "method": "counter", "part_of": ""}
                  for m, d, k in DOMAINS],
      "warnings": []})
t = 0.1
for pos, (run, variant, scale) in enumerate([(1, "baseline", 1.0), (2, "prune-50", 0.7)], 1):
    emit({"event": "run-started", "t": t, "experiment": 1, "run": run, "position": pos,
          "runs_to_run": 2, "grid_index": pos - 1, "variant": variant, "backend": "cpu",
          "repetition": 0, "config_key": "%016x" % run, "baseline": run == 1})
    run_t = 0.0
    cum = [0.0, 0.0]
    for pi, (phase, dur, watts) in enumerate(PHASES):
        emit({"event": "phase", "t": t, "run": run, "phase": phase, "state": "begin",
              "run_t": run_t})
        n = int(dur * HZ)
        e0 = list(cum)
        for i in range(1, n + 1):
            rt = run_t + i / HZ
            p0 = watts * (scale if phase != "idle" else 1.0) + 2.0 * math.sin(rt * 3.0)
            p1 = 0.2 * p0
            cum[0] += p0 / HZ
            cum[1] += p1 / HZ
            emit({"event": "sample", "t": t + i / HZ, "run": run, "run_t": rt,
                  "energy": [{"domain": "package-0", "kind": "measured", "power_w": p0,
                              "energy_j": cum[0]},
                             {"domain": "dram", "kind": "measured", "power_w": p1,
                              "energy_j": cum[1]}]})
            if i % 10 == 0:
                emit({"event": "progress", "t": t + i / HZ, "run": run, "phase": phase,
                      "fraction": i / n,
                      "overall": ((pos - 1) + (pi + i / n) / len(PHASES)) / 2.0,
                      "what": "%s %d/%d" % (phase, i, n)})
        run_t += dur
        t += dur
        gross = [cum[0] - e0[0], cum[1] - e0[1]]
        emit({"event": "phase", "t": t, "run": run, "phase": phase, "state": "end",
              "run_t": run_t, "duration_s": dur, "reused": False,
              "energy": [{"domain": "package-0", "kind": "measured", "power_w": gross[0] / dur,
                          "gross_j": gross[0], "net_j": gross[0] - 10.0 * dur},
                         {"domain": "dram", "kind": "measured", "power_w": gross[1] / dur,
                          "gross_j": gross[1], "net_j": gross[1] - 2.0 * dur}]})
        emit({"event": "log", "t": t, "level": "info", "run": run,
              "message": "phase %s done in %.1f s" % (phase, dur)})
    emit({"event": "run-finished", "t": t, "run": run, "status": "completed", "flags": [],
          "error": "", "duration_s": run_t})
emit({"event": "experiment-finished", "t": t, "experiment": 1, "status": "completed",
      "completed": 2, "failed": 0, "cancelled": 0, "runs_skipped": 0, "duration_s": t})
print("\n".join(lines))
