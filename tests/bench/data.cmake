# SPDX-License-Identifier: GPL-3.0-or-later
# Data loading: Fashion-MNIST load time and BatchIterator cost next to a LeNet-5 training step.
qt_add_executable(bench_data bench_data.cpp)
target_link_libraries(bench_data PRIVATE jb_engine)
target_precompile_headers(bench_data REUSE_FROM jb_engine)
