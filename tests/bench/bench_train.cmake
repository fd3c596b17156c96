# SPDX-License-Identifier: GPL-3.0-or-later
# Training: throughput of the engine against a bare libtorch loop and Python PyTorch
# (bench_train, which runs bench_train_pytorch.py), and accuracy of zoo models on
# Fashion-MNIST (bench_zoo_train). See docs/performance.md.
foreach(_b bench_train bench_zoo_train)
    qt_add_executable(${_b} ${CMAKE_CURRENT_LIST_DIR}/${_b}.cpp)
    target_link_libraries(${_b} PRIVATE jb_engine)
    target_compile_definitions(${_b} PRIVATE JB_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    target_precompile_headers(${_b} REUSE_FROM jb_engine)
endforeach()
