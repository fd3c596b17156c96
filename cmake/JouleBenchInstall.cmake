# SPDX-License-Identifier: GPL-3.0-or-later
# The JouleBench SDK. `cmake --install <build> --prefix <P>` installs
#   bin/                        joulebench-cli (and joulebench, the GUI, when built)
#   lib/                        libjb_engine, libjb_measurement, libjb_database
#   lib/joulebench/plugins/     the technique plugins (each installed by
#                               joulebench_add_technique_plugin(), cmake/JouleBenchPlugin.cmake)
#   include/joulebench/         the headers of engine/, measurement/ and database/ (the plugin API
#                               is engine/technique.h; every header it includes is there), and
#                               testing/plugin_test_support.h for plugin tests
#   lib/cmake/JouleBench/       the CMake package: JouleBenchConfig.cmake (+ version), the
#                               exported targets JouleBench::engine, ::measurement, ::database,
#                               ::cli, and joulebench_add_technique_plugin()
# so that an out-of-tree plugin builds with find_package(JouleBench) (docs/plugin-authoring.md).
# The plugin template `joulebench-cli plugins new` copies is compiled into the CLI (a Qt
# resource, app/cli/CMakeLists.txt), so it needs no installed file. Included last by the
# top-level CMakeLists.txt, once every target exists.
#
# Everything a plugin author needs is the install component "sdk" (libraries, joulebench-cli,
# headers, package); the plugins and the GUI are not in it. `cmake --install <build> --prefix P
# --component sdk` therefore needs only jb_engine and joulebench-cli built (tests/plugins uses
# that); a plain `cmake --install` installs everything and needs the whole build.
include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

set(_jb_sdk_libs jb_measurement jb_database jb_engine)
foreach(_t IN LISTS _jb_sdk_libs)
    string(REGEX REPLACE "^jb_" "" _name ${_t})
    # Installed libraries find each other next to themselves; libtorch and Qt are system ones.
    set_target_properties(${_t} PROPERTIES EXPORT_NAME ${_name} INSTALL_RPATH "$ORIGIN")
endforeach()
# A sanitized build (JOULEBENCH_SANITIZE) gives a sanitized SDK: its libraries call the sanitizer
# runtime, so what builds against them must be compiled and linked with the same sanitizers.
if(JOULEBENCH_SANITIZE)
    string(REPLACE "," "$<COMMA>" _jb_sanitize "-fsanitize=${JOULEBENCH_SANITIZE}")
    set_property(TARGET jb_engine APPEND PROPERTY INTERFACE_COMPILE_OPTIONS
                 "$<INSTALL_INTERFACE:${_jb_sanitize}>")
    set_property(TARGET jb_engine APPEND PROPERTY INTERFACE_LINK_OPTIONS
                 "$<INSTALL_INTERFACE:${_jb_sanitize}>")
endif()
install(TARGETS ${_jb_sdk_libs} EXPORT JouleBenchTargets
        LIBRARY DESTINATION lib COMPONENT sdk
        INCLUDES DESTINATION include/joulebench)

set_target_properties(joulebench-cli PROPERTIES EXPORT_NAME cli INSTALL_RPATH "$ORIGIN/../lib")
# Exported too, so a plugin project can run `plugins check` on what it built (JouleBench::cli).
install(TARGETS joulebench-cli EXPORT JouleBenchTargets RUNTIME DESTINATION bin COMPONENT sdk)
if(TARGET joulebench)
    set_target_properties(joulebench PROPERTIES INSTALL_RPATH "$ORIGIN/../lib")
    install(TARGETS joulebench RUNTIME DESTINATION bin)
endif()

foreach(_dir engine measurement database)
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${_dir}/ DESTINATION include/joulebench/${_dir}
            COMPONENT sdk FILES_MATCHING PATTERN "*.h")
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/tests/plugins/plugin_test_support.h
        DESTINATION include/joulebench/testing COMPONENT sdk)

set(_jb_cmake_dir lib/cmake/JouleBench)
set(JB_SDK_INCLUDE_DIR include/joulebench)
install(EXPORT JouleBenchTargets NAMESPACE JouleBench:: DESTINATION ${_jb_cmake_dir}
        COMPONENT sdk)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/JouleBenchConfig.cmake.in
    ${CMAKE_BINARY_DIR}/sdk/JouleBenchConfig.cmake
    INSTALL_DESTINATION ${_jb_cmake_dir}
    PATH_VARS JB_SDK_INCLUDE_DIR)
# A plugin is built against one minor version: the interface id changes with the binary
# interface, and 0.x minor versions may change it.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/sdk/JouleBenchConfigVersion.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/sdk/JouleBenchConfig.cmake
              ${CMAKE_BINARY_DIR}/sdk/JouleBenchConfigVersion.cmake
              ${CMAKE_CURRENT_LIST_DIR}/JouleBenchPlugin.cmake
        DESTINATION ${_jb_cmake_dir} COMPONENT sdk)
