# SPDX-License-Identifier: GPL-3.0-or-later
# Included by tests/plugins/CMakeLists.txt: quant.qat's test.
jb_add_qt_test(tst_quant_qat
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_qat.cpp
    LIBS jb_engine TORCH TIMEOUT 120 LABELS plugins)
target_include_directories(tst_quant_qat PRIVATE ${PROJECT_SOURCE_DIR}/tests/plugins)
target_compile_definitions(tst_quant_qat PRIVATE
    JB_PLUGIN_FILE="$<TARGET_FILE:jb_technique_quant_qat>")
add_dependencies(tst_quant_qat jb_technique_quant_qat)
