# SPDX-License-Identifier: GPL-3.0-or-later
# Quantization plugins: fp32 vs int8 / bf16 inference timings side by side (interleaved) and
# accuracy on Fashion-MNIST (bench_quant). Figures in docs/techniques/quantization.md.
qt_add_executable(bench_quant ${CMAKE_CURRENT_LIST_DIR}/bench_quant.cpp)
target_link_libraries(bench_quant PRIVATE jb_engine)
target_include_directories(bench_quant PRIVATE ${PROJECT_SOURCE_DIR}/tests/plugins)
target_compile_definitions(bench_quant PRIVATE JB_PLUGIN_DIR="${JOULEBENCH_PLUGIN_OUTPUT_DIR}")
target_precompile_headers(bench_quant REUSE_FROM jb_engine)
add_dependencies(bench_quant jb_technique_quant_dynamic_int8 jb_technique_quant_static_int8
                 jb_technique_quant_half jb_technique_quant_qat)
