# SPDX-License-Identifier: GPL-3.0-or-later
# Experiment runner: the JSONL event stream, the per-run and across-repetition arithmetic, and
# whole experiments on a fake powercap tree (jb_fake_powercap from tests/measurement).
jb_add_qt_test(tst_run_events SOURCES tst_run_events.cpp LIBS jb_engine TIMEOUT 60
               LABELS engine runner)
jb_add_qt_test(tst_runner_statistics SOURCES tst_runner_statistics.cpp LIBS jb_engine TIMEOUT 60
               LABELS engine runner)
jb_add_qt_test(tst_runner SOURCES tst_runner.cpp tst_runner_fake_power.h
               LIBS jb_engine jb_fake_powercap TORCH TIMEOUT 300 LABELS engine runner)
jb_add_qt_test(tst_runner_environment SOURCES tst_runner_environment.cpp LIBS jb_engine TIMEOUT 60
               LABELS engine runner)
