# SPDX-License-Identifier: GPL-3.0-or-later
# Included by tests/plugins/CMakeLists.txt (where jb_add_qt_test exists): the data-selection
# tests. tst_data_selection: the shared pure functions; tst_data_plugins: the four plugins
# (data.random, data.el2n, data.forgetting, data.loss_adaptive) through the registry and a
# tiny experiment through the runner.
jb_add_qt_test(tst_data_selection
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_data_selection.cpp
    LIBS jb_data_common TORCH TIMEOUT 60 LABELS plugins)

jb_add_qt_test(tst_data_plugins
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_data_plugins.cpp
    LIBS jb_engine TORCH TIMEOUT 180 LABELS plugins runner)
target_include_directories(tst_data_plugins PRIVATE ${PROJECT_SOURCE_DIR}/tests/plugins)
target_compile_definitions(tst_data_plugins PRIVATE
    JB_RANDOM_FILE="$<TARGET_FILE:jb_technique_data_random>"
    JB_EL2N_FILE="$<TARGET_FILE:jb_technique_data_el2n>"
    JB_FORGETTING_FILE="$<TARGET_FILE:jb_technique_data_forgetting>"
    JB_LOSS_ADAPTIVE_FILE="$<TARGET_FILE:jb_technique_data_loss_adaptive>")
add_dependencies(tst_data_plugins jb_technique_data_random jb_technique_data_el2n
    jb_technique_data_forgetting jb_technique_data_loss_adaptive)
