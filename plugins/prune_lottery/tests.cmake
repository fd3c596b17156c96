# SPDX-License-Identifier: GPL-3.0-or-later
# Included by tests/plugins/CMakeLists.txt (where jb_add_qt_test exists): this plugin's test.
jb_add_qt_test(tst_prune_lottery
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_lottery.cpp
    LIBS jb_engine TORCH TIMEOUT 120 LABELS plugins)
target_include_directories(tst_prune_lottery PRIVATE ${PROJECT_SOURCE_DIR}/tests/plugins)
target_compile_definitions(tst_prune_lottery PRIVATE
    JB_PLUGIN_FILE="$<TARGET_FILE:jb_technique_prune_lottery>")
add_dependencies(tst_prune_lottery jb_technique_prune_lottery)
