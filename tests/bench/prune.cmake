# SPDX-License-Identifier: GPL-3.0-or-later
# Pruning: bench_prune_structured (dense vs 50 % filter-pruned vgg-cifar, CPU inference at batch
# 64, interleaved, 1 and 2 threads) and bench_prune_magnitude (mlp on Fashion-MNIST: dense vs
# 90 % magnitude-pruned and fine-tuned test accuracy). Both load the plugins from the build's
# plugin folder. Figures: docs/techniques/pruning.md.
foreach(_b bench_prune_structured bench_prune_magnitude)
    qt_add_executable(${_b} ${CMAKE_CURRENT_LIST_DIR}/${_b}.cpp)
    target_link_libraries(${_b} PRIVATE jb_engine)
    target_compile_definitions(${_b} PRIVATE
        JB_PLUGIN_DIR="${JOULEBENCH_PLUGIN_OUTPUT_DIR}")
    target_precompile_headers(${_b} REUSE_FROM jb_engine)
endforeach()
add_dependencies(bench_prune_structured jb_technique_prune_structured)
add_dependencies(bench_prune_magnitude jb_technique_prune_magnitude)
