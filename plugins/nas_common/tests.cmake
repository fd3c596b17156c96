# SPDX-License-Identifier: GPL-3.0-or-later
# Included by tests/plugins/CMakeLists.txt (where jb_add_qt_test exists): the NAS tests.
# tst_nas_search: search space, mutation, sampling, aging, Pareto front, objectives and a tiny
# search without the runner; tst_nas_plugins: the runner's measureEnergy hook on a fake RAPL
# package and both plugins (nas.random, nas.evolution) through the registry and the runner.
jb_add_qt_test(tst_nas_search
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_nas_search.cpp
    LIBS jb_nas_common TORCH TIMEOUT 120 LABELS plugins)

jb_add_qt_test(tst_nas_plugins
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/tst_nas_plugins.cpp
    LIBS jb_engine jb_fake_powercap TORCH TIMEOUT 240 LABELS plugins runner)
target_include_directories(tst_nas_plugins PRIVATE
    ${PROJECT_SOURCE_DIR}/tests/plugins ${PROJECT_SOURCE_DIR}/tests/engine)
target_compile_definitions(tst_nas_plugins PRIVATE
    JB_NAS_RANDOM_FILE="$<TARGET_FILE:jb_technique_nas_random>"
    JB_NAS_EVOLUTION_FILE="$<TARGET_FILE:jb_technique_nas_evolution>")
add_dependencies(tst_nas_plugins jb_technique_nas_random jb_technique_nas_evolution)

# `joulebench-cli plugins check` on each plugin (metadata, schema, a run on a tiny model), as
# joulebench_add_technique_plugin_test() adds for single-file plugin tests.
foreach(_nas nas_random nas_evolution)
    add_test(NAME tst_${_nas}_check
             COMMAND joulebench-cli plugins check $<TARGET_FILE:jb_technique_${_nas}>)
    set_tests_properties(tst_${_nas}_check PROPERTIES TIMEOUT 120 LABELS plugins)
endforeach()
