# SPDX-License-Identifier: GPL-3.0-or-later
# Included by tests/plugins/CMakeLists.txt (where jb_add_qt_test exists): this plugin's test.
jb_add_qt_test(tst_prune_energy_aware
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_energy_aware.cpp
    LIBS jb_engine TORCH TIMEOUT 120 LABELS plugins)
target_include_directories(tst_prune_energy_aware PRIVATE ${PROJECT_SOURCE_DIR}/tests/plugins)
target_compile_definitions(tst_prune_energy_aware PRIVATE
    JB_PLUGIN_FILE="$<TARGET_FILE:jb_technique_prune_energy_aware>")
add_dependencies(tst_prune_energy_aware jb_technique_prune_energy_aware)
