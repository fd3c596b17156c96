# SPDX-License-Identifier: GPL-3.0-or-later
# Sampler overhead: CPU time of the sampling thread at 100 Hz on a fake 8-domain powercap tree.
if(TARGET jb_fake_powercap)
    qt_add_executable(bench_sampler ${CMAKE_CURRENT_LIST_DIR}/bench_sampler.cpp)
    target_link_libraries(bench_sampler PRIVATE jb_fake_powercap jb_measurement Qt6::Core)
endif()
