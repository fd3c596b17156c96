# SPDX-License-Identifier: GPL-3.0-or-later
# Included by tests/plugins/CMakeLists.txt: quant.static_int8's test (also checks the shared
# batch-norm folding of plugins/quant_common directly).
jb_add_qt_test(tst_quant_static_int8
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_static_int8.cpp
    LIBS jb_engine jb_quant_common TORCH TIMEOUT 120 LABELS plugins)
target_include_directories(tst_quant_static_int8 PRIVATE ${PROJECT_SOURCE_DIR}/tests/plugins)
target_compile_definitions(tst_quant_static_int8 PRIVATE
    JB_PLUGIN_FILE="$<TARGET_FILE:jb_technique_quant_static_int8>")
add_dependencies(tst_quant_static_int8 jb_technique_quant_static_int8)
