# SPDX-License-Identifier: GPL-3.0-or-later
# Database: sample ingest, downsampled read, comparison query; each against its target and the
# naive row-per-sample layout (raw SQLite) measured in the same run. Run: bench_database
find_package(SQLite3)
if(TARGET jb_database AND TARGET SQLite::SQLite3)
    qt_add_executable(bench_database ${CMAKE_CURRENT_LIST_DIR}/bench_database.cpp)
    target_link_libraries(bench_database PRIVATE jb_database Qt6::Core Qt6::Sql SQLite::SQLite3)
endif()
