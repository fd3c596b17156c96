# SPDX-License-Identifier: GPL-3.0-or-later
# Building a technique plugin (see docs/plugins.md and plugins/template/README.md):
#
#   joulebench_add_technique_plugin(<target>
#       SOURCES <file.cpp> [<more files>...]
#       METADATA <file.json>
#       [CLASS_NAME <plugin class>]      # the class with Q_PLUGIN_METADATA (default: <target>)
#       [LIBS <extra libraries>...]
#       [OUTPUT_DIRECTORY <dir>]         # default: ${JOULEBENCH_PLUGIN_OUTPUT_DIR}
#       [NO_METADATA_CHECK])             # tests only: skip the configure-time JSON check
#
# Builds a Qt plugin (qt_add_plugin, shared) linked to jb_engine into the folder the plugin
# registry searches next to the executables (<build>/lib/joulebench/plugins), reusing the
# engine's precompiled torch header so the plugin does not parse libtorch again, and installs it
# to <prefix>/lib/joulebench/plugins; the target jb_technique_plugins builds all such plugins
# (the apps do not depend on them: they load them at run time). The METADATA file must be the one named in the plugin's
# Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "...") and is checked at configure time: moc
# silently drops (with only a warning) a Q_PLUGIN_METADATA whose FILE is not a JSON object,
# which would leave a library that is no plugin at all.
include_guard(GLOBAL)

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
    target_link_libraries(${target} PRIVATE jb_engine ${P_LIBS})
    # Same flags as jb_engine, so its precompiled header is valid here (saves 15-30 s a file).
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

    if(NOT P_OUTPUT_DIRECTORY)
        set(P_OUTPUT_DIRECTORY ${JOULEBENCH_PLUGIN_OUTPUT_DIR})
    endif()
    set_target_properties(${target} PROPERTIES
        LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIRECTORY}
        # Installed plugins find libjb_engine in <prefix>/lib.
        INSTALL_RPATH "$ORIGIN/../..")
    if(P_OUTPUT_DIRECTORY STREQUAL JOULEBENCH_PLUGIN_OUTPUT_DIR)
        install(TARGETS ${target} LIBRARY DESTINATION lib/joulebench/plugins)
        # The executables load plugins at run time only, so nothing links to them; this target
        # builds them all: cmake --build <build> --target joulebench-cli jb_technique_plugins.
        # (Not a dependency of the apps: a plugin that fails to compile must not block them.)
        if(NOT TARGET jb_technique_plugins)
            add_custom_target(jb_technique_plugins)
        endif()
        add_dependencies(jb_technique_plugins ${target})
    endif()
endfunction()
