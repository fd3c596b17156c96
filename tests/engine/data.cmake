# SPDX-License-Identifier: GPL-3.0-or-later
# Data sets (IDX, CIFAR, tensor file, splits, batches) and backends (CPU threads, BLAS, CLI).
# zlib: the tests write gzip fixtures and CRCs themselves (good, truncated, corrupt files).
find_package(ZLIB REQUIRED)
jb_add_qt_test(tst_idx SOURCES tst_idx.cpp LIBS jb_engine ZLIB::ZLIB TORCH TIMEOUT 60
               LABELS engine data)
jb_add_qt_test(tst_cifar SOURCES tst_cifar.cpp LIBS jb_engine TORCH TIMEOUT 60 LABELS engine data)
jb_add_qt_test(tst_tensor_file SOURCES tst_tensor_file.cpp LIBS jb_engine ZLIB::ZLIB TORCH
               TIMEOUT 60 LABELS engine data)
jb_add_qt_test(tst_datasets SOURCES tst_datasets.cpp LIBS jb_engine TORCH TIMEOUT 120
               LABELS engine data)
jb_add_qt_test(tst_backend SOURCES tst_backend.cpp LIBS jb_engine TORCH TIMEOUT 120
               LABELS engine backend)
# The backend test also runs `joulebench-cli backends` (table, JSON, --check, reference BLAS).
if(TARGET joulebench-cli)
    target_compile_definitions(tst_backend PRIVATE JB_CLI_PATH="$<TARGET_FILE:joulebench-cli>")
    add_dependencies(tst_backend joulebench-cli)
endif()
