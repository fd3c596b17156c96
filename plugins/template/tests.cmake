# SPDX-License-Identifier: GPL-3.0-or-later
# Included by tests/plugins/CMakeLists.txt (where jb_add_qt_test exists): this plugin's test.
jb_add_qt_test(tst_template_weight_noise
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_weight_noise.cpp
    LIBS jb_engine TORCH TIMEOUT 60 LABELS plugins)
target_include_directories(tst_template_weight_noise PRIVATE ${PROJECT_SOURCE_DIR}/tests/plugins)
target_compile_definitions(tst_template_weight_noise PRIVATE
    JB_PLUGIN_FILE="$<TARGET_FILE:jb_technique_template>")
add_dependencies(tst_template_weight_noise jb_technique_template)
