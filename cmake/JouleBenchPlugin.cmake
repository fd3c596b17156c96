# SPDX-License-Identifier: GPL-3.0-or-later
# Building a technique plugin (docs/plugin-authoring.md, docs/plugins.md), in the JouleBench
# tree (plugins/<folder>/) or out of it against the installed SDK (find_package(JouleBench),
# which includes this file; cmake/JouleBenchInstall.cmake):
#
#   joulebench_add_technique_plugin(<target>
#       SOURCES <file.cpp> [<more files>...]
#       METADATA <file.json>
#       [CLASS_NAME <plugin class>]      # the class with Q_PLUGIN_METADATA (default: <target>)
#       [LIBS <extra libraries>...]
#       [OUTPUT_DIRECTORY <dir>]         # default: in the tree ${JOULEBENCH_PLUGIN_OUTPUT_DIR},
#                                        # out of it <build>/plugins
#       [NO_METADATA_CHECK])             # tests only: skip the configure-time JSON check
#
#   joulebench_add_technique_plugin_test(<test> SOURCES <tst_x.cpp>... PLUGIN <plugin target>
#       [LIBS <extra libraries>...] [TIMEOUT <seconds>])
#
# joulebench_add_technique_plugin() builds a Qt plugin (qt_add_plugin, shared) linked to the
# engine and installs it to <prefix>/lib/joulebench/plugins. In the tree it reuses the engine's
# precompiled torch header, so the plugin does not parse libtorch again. Out of the tree there is
# no such header to reuse: with JOULEBENCH_PLUGIN_PCH=ON (default OFF) the project builds one,
# shared by its plugins and tests. Measured (CPU seconds, 2-core VM): building it costs 25 s and
# saves 7-8 s per file that includes <torch/torch.h>, while a file with only the narrow
# <torch/types.h> (the template) compiles in 8-12 s without it; so it pays from about four
# <torch/torch.h> files on (docs/plugin-authoring.md). In the tree, the plugin goes to the folder
# the registry searches next to the executables (<build>/lib/joulebench/plugins) and the target
# jb_technique_plugins builds all such plugins (the apps do not depend on them: they load them
# at run time). The METADATA file must be the one named in the plugin's
# Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "...") and is checked at configure time: moc
# silently drops (with only a warning) a Q_PLUGIN_METADATA whose FILE is not a JSON object,
# which would leave a library that is no plugin at all.
#
# joulebench_add_technique_plugin_test() adds a Qt Test executable (CTest name <test>) that gets
# the built plugin's path as JB_PLUGIN_FILE and plugin_test_support.h on its include path, and a
# second CTest, <test>_check, running `joulebench-cli plugins check` on the plugin. In the tree
# it must be called from a plugin's tests.cmake (included by tests/plugins/CMakeLists.txt).
include_guard(GLOBAL)

option(JOULEBENCH_PLUGIN_PCH
       "Out of the JouleBench tree: one precompiled <torch/torch.h> for the project's plugins and tests"
       OFF)

# In the tree jb_engine is a target of this build; out of it the SDK's imported targets.
if(TARGET jb_engine)
    set(_JOULEBENCH_IN_TREE TRUE)
else()
    set(_JOULEBENCH_IN_TREE FALSE)
endif()

# Out of the tree, with JOULEBENCH_PLUGIN_PCH: one object library per project that only compiles
# the precompiled torch header; plugins and tests reuse it (REUSE_FROM needs the same flags: position-independent
# code, the engine's compile options and definitions).
function(_joulebench_torch_pch)
    if(TARGET joulebench_torch_pch)
        return()
    endif()
    set(_src ${CMAKE_BINARY_DIR}/joulebench_torch_pch.cpp)
    if(NOT EXISTS ${_src})
        file(WRITE ${_src} "// Generated: carries the precompiled torch header (JouleBenchPlugin.cmake).\n")
    endif()
    add_library(joulebench_torch_pch OBJECT ${_src})
    target_link_libraries(joulebench_torch_pch PRIVATE JouleBench::engine)
    target_precompile_headers(joulebench_torch_pch PRIVATE <torch/torch.h>)
    set_target_properties(joulebench_torch_pch PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()

# In-tree: `target` reuses jb_engine's precompiled torch header (saves 15-30 s a file).
function(_joulebench_reuse_engine_pch target)
    target_precompile_headers(${target} REUSE_FROM jb_engine)
    # GCC silently ignores (only -Winvalid-pch says so) a PCH compiled with a macro the user
    # lacks; the engine's PCH was compiled with its DEFINE_SYMBOL (jb_engine_EXPORTS unless
    # set). No engine header uses it, so defining it here only makes the PCH usable.
    get_target_property(_define jb_engine DEFINE_SYMBOL)
    if(_define STREQUAL "_define-NOTFOUND")
        set(_define jb_engine_EXPORTS)
    endif()
    if(_define)
        target_compile_definitions(${target} PRIVATE ${_define})
    endif()
endfunction()

# In-tree: a static library of code several plugins share (plugins/<family>_common), linked
# into each of them; it reuses the engine's precompiled header.
#   joulebench_add_plugin_support_library(<target> <sources...>)
function(joulebench_add_plugin_support_library target)
    add_library(${target} STATIC ${ARGN})
    target_link_libraries(${target} PUBLIC jb_engine)
    target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON AUTOMOC OFF)
    _joulebench_reuse_engine_pch(${target})
endfunction()

function(joulebench_add_technique_plugin target)
    cmake_parse_arguments(P "NO_METADATA_CHECK" "METADATA;CLASS_NAME;OUTPUT_DIRECTORY"
                          "SOURCES;LIBS" ${ARGN})
    if(P_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "joulebench_add_technique_plugin(${target}): unknown arguments "
                            "${P_UNPARSED_ARGUMENTS}")
    endif()
    if(NOT P_SOURCES)
        message(FATAL_ERROR "joulebench_add_technique_plugin(${target}): SOURCES is required")
    endif()
    if(NOT P_METADATA)
        message(FATAL_ERROR "joulebench_add_technique_plugin(${target}): METADATA <file.json> is "
                            "required (the file named in Q_PLUGIN_METADATA)")
    endif()
    get_filename_component(_md "${P_METADATA}" ABSOLUTE)
    if(NOT EXISTS "${_md}")
        message(FATAL_ERROR "joulebench_add_technique_plugin(${target}): metadata file ${_md} "
                            "does not exist")
    endif()
    # Re-run configure when the metadata changes, so the check below sees every edit.
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_md}")

    if(NOT P_NO_METADATA_CHECK)
        file(READ "${_md}" _json)
        string(JSON _type ERROR_VARIABLE _err TYPE "${_json}")
        if(_err)
            message(FATAL_ERROR "${_md}: not valid JSON (${_err}); moc would drop the plugin's "
                                "metadata and the library would not be a plugin")
        endif()
        if(NOT _type STREQUAL "OBJECT")
            message(FATAL_ERROR "${_md}: the metadata must be a JSON object, it is ${_type}")
        endif()
        foreach(_key id name family version apiVersion description)
            string(JSON _v ERROR_VARIABLE _err GET "${_json}" ${_key})
            if(_err)
                message(FATAL_ERROR "${_md}: required key \"${_key}\" is missing "
                                    "(see docs/plugins.md)")
            endif()
        endforeach()
    endif()

    if(P_CLASS_NAME)
        qt_add_plugin(${target} SHARED CLASS_NAME ${P_CLASS_NAME})
    else()
        qt_add_plugin(${target} SHARED)
    endif()
    target_sources(${target} PRIVATE ${P_SOURCES} ${_md})

    if(_JOULEBENCH_IN_TREE)
        target_link_libraries(${target} PRIVATE jb_engine ${P_LIBS})
        _joulebench_reuse_engine_pch(${target})
        if(NOT P_OUTPUT_DIRECTORY)
            set(P_OUTPUT_DIRECTORY ${JOULEBENCH_PLUGIN_OUTPUT_DIR})
        endif()
        # Installed plugins find libjb_engine in <prefix>/lib.
        set(_rpath "$ORIGIN/../..")
    else()
        target_link_libraries(${target} PRIVATE JouleBench::engine ${P_LIBS})
        if(JOULEBENCH_PLUGIN_PCH)
            _joulebench_torch_pch()
            target_precompile_headers(${target} REUSE_FROM joulebench_torch_pch)
        endif()
        set_target_properties(${target} PROPERTIES AUTOMOC ON)
        if(NOT P_OUTPUT_DIRECTORY)
            set(P_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/plugins)
        endif()
        # Installed next to the SDK's plugins, or anywhere else: find the SDK's libraries.
        set(_rpath "$ORIGIN/../..;${JOULEBENCH_LIBRARY_DIR}")
    endif()

    set_target_properties(${target} PROPERTIES
        LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIRECTORY}
        INSTALL_RPATH "${_rpath}")
    if(NOT _JOULEBENCH_IN_TREE OR P_OUTPUT_DIRECTORY STREQUAL JOULEBENCH_PLUGIN_OUTPUT_DIR)
        install(TARGETS ${target} LIBRARY DESTINATION lib/joulebench/plugins)
    endif()
    if(_JOULEBENCH_IN_TREE AND P_OUTPUT_DIRECTORY STREQUAL JOULEBENCH_PLUGIN_OUTPUT_DIR)
        # The executables load plugins at run time only, so nothing links to them; this target
        # builds them all: cmake --build <build> --target joulebench-cli jb_technique_plugins.
        # (Not a dependency of the apps: a plugin that fails to compile must not block them.)
        if(NOT TARGET jb_technique_plugins)
            add_custom_target(jb_technique_plugins)
        endif()
        add_dependencies(jb_technique_plugins ${target})
    endif()
endfunction()

function(joulebench_add_technique_plugin_test name)
    cmake_parse_arguments(T "" "PLUGIN;TIMEOUT" "SOURCES;LIBS" ${ARGN})
    if(T_UNPARSED_ARGUMENTS OR NOT T_SOURCES OR NOT T_PLUGIN)
        message(FATAL_ERROR "joulebench_add_technique_plugin_test(${name} SOURCES <files> "
                            "PLUGIN <plugin target> [LIBS ...] [TIMEOUT s]): wrong arguments "
                            "${T_UNPARSED_ARGUMENTS}")
    endif()
    if(NOT T_TIMEOUT)
        set(T_TIMEOUT 60)
    endif()
    if(_JOULEBENCH_IN_TREE)
        if(NOT COMMAND jb_add_qt_test)
            message(FATAL_ERROR "joulebench_add_technique_plugin_test(${name}): in the JouleBench "
                                "tree, call it from the plugin's tests.cmake (included by "
                                "tests/plugins/CMakeLists.txt), not from its CMakeLists.txt")
        endif()
        jb_add_qt_test(${name} SOURCES ${T_SOURCES} LIBS jb_engine ${T_LIBS} TORCH
                       TIMEOUT ${T_TIMEOUT} LABELS plugins)
        target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/plugins)
        add_dependencies(${name} ${T_PLUGIN} joulebench-cli)
        set(_cli joulebench-cli)
    else()
        find_package(Qt6 REQUIRED COMPONENTS Test)
        qt_add_executable(${name} ${T_SOURCES})
        target_link_libraries(${name} PRIVATE Qt6::Test JouleBench::engine ${T_LIBS})
        target_include_directories(${name} PRIVATE ${JOULEBENCH_INCLUDE_DIR}/testing)
        if(JOULEBENCH_PLUGIN_PCH)
            _joulebench_torch_pch()
            target_precompile_headers(${name} REUSE_FROM joulebench_torch_pch)
            # The shared PCH is position-independent code (-fPIC), and GCC uses a PCH only with
            # the same setting; -fPIC objects link into an executable as well.
            target_compile_options(${name} PRIVATE -fPIC)
        endif()
        set_target_properties(${name} PROPERTIES AUTOMOC ON)
        add_dependencies(${name} ${T_PLUGIN})
        add_test(NAME ${name} COMMAND ${name})
        set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT}
                             ENVIRONMENT "QT_QPA_PLATFORM=offscreen")
        set(_cli JouleBench::cli)
    endif()
    target_compile_definitions(${name} PRIVATE JB_PLUGIN_FILE="$<TARGET_FILE:${T_PLUGIN}>")
    add_test(NAME ${name}_check COMMAND ${_cli} plugins check $<TARGET_FILE:${T_PLUGIN}>)
    set_tests_properties(${name}_check PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS plugins)
endfunction()
