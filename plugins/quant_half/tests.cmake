# SPDX-License-Identifier: GPL-3.0-or-later
# Included by tests/plugins/CMakeLists.txt: quant.half's test.
jb_add_qt_test(tst_quant_half
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_half.cpp
    LIBS jb_engine TORCH TIMEOUT 60 LABELS plugins)
target_include_directories(tst_quant_half PRIVATE ${PROJECT_SOURCE_DIR}/tests/plugins)
target_compile_definitions(tst_quant_half PRIVATE
    JB_PLUGIN_FILE="$<TARGET_FILE:jb_technique_quant_half>")
add_dependencies(tst_quant_half jb_technique_quant_half)
