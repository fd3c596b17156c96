# SPDX-License-Identifier: GPL-3.0-or-later
# Experiment plans: parsing and validation, parameter schemas, grid expansion and shards.
# Pure Qt Core code inside jb_engine, so no TORCH here.
jb_add_qt_test(tst_plan SOURCES tst_plan.cpp LIBS jb_engine TIMEOUT 60 LABELS engine plan)
jb_add_qt_test(tst_plan_grid SOURCES tst_plan_grid.cpp LIBS jb_engine TIMEOUT 60 LABELS engine plan)
jb_add_qt_test(tst_param_schema SOURCES tst_param_schema.cpp LIBS jb_engine TIMEOUT 60
               LABELS engine plan)
