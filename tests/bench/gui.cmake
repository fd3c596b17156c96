# SPDX-License-Identifier: GPL-3.0-or-later
# GUI: replot time of a 10,000,000-sample run read through Store::readSeries (min/max
# downsampling) into QCustomPlot, whole run and zoomed. Run: QT_QPA_PLATFORM=offscreen bench_gui_series
if(TARGET jb_gui)
    qt_add_executable(bench_gui_series ${CMAKE_CURRENT_LIST_DIR}/bench_gui_series.cpp)
    target_link_libraries(bench_gui_series PRIVATE jb_gui)
endif()
