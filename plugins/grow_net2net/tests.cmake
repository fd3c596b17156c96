# SPDX-License-Identifier: GPL-3.0-or-later
# Included by tests/plugins/CMakeLists.txt (where jb_add_qt_test exists): this plugin's test.
jb_add_qt_test(tst_grow_net2net
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_grow.cpp
    LIBS jb_engine TORCH TIMEOUT 120 LABELS plugins)
target_include_directories(tst_grow_net2net PRIVATE ${PROJECT_SOURCE_DIR}/tests/plugins)
target_compile_definitions(tst_grow_net2net PRIVATE
    JB_PLUGIN_FILE="$<TARGET_FILE:jb_technique_grow_net2net>")
add_dependencies(tst_grow_net2net jb_technique_grow_net2net)
