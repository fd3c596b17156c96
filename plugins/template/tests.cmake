# SPDX-License-Identifier: GPL-3.0-or-later
# This plugin's tests (cmake/JouleBenchPlugin.cmake): tst_template_weight_noise, the Qt Test
# below, and tst_template_weight_noise_check, `joulebench-cli plugins check` on the built
# plugin. Included by tests/plugins/CMakeLists.txt in the JouleBench tree, and by this folder's
# CMakeLists.txt when it is built on its own against the installed SDK.
joulebench_add_technique_plugin_test(tst_template_weight_noise
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_weight_noise.cpp
    PLUGIN jb_technique_template
    TIMEOUT 60)
