# SPDX-License-Identifier: GPL-3.0-or-later
# Included by tests/plugins/CMakeLists.txt (where jb_add_qt_test exists): this plugin's test
# (the loss, the plugin on synthetic data, and one tiny plan through joulebench-cli).
jb_add_qt_test(tst_distill_kd
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_distill_kd.cpp
    LIBS jb_engine TORCH TIMEOUT 240 LABELS plugins)
target_include_directories(tst_distill_kd PRIVATE ${PROJECT_SOURCE_DIR}/tests/plugins)
target_compile_definitions(tst_distill_kd PRIVATE
    JB_PLUGIN_FILE="$<TARGET_FILE:jb_technique_distill_kd>"
    JB_CLI_PATH="$<TARGET_FILE:joulebench-cli>")
add_dependencies(tst_distill_kd jb_technique_distill_kd joulebench-cli)
