# SPDX-License-Identifier: GPL-3.0-or-later
# Data sets (IDX, CIFAR, tensor file, splits, batches) and backends (CPU threads, BLAS, CLI).
# zlib: the tests write gzip fixtures themselves (good, truncated, corrupt).
find_package(ZLIB REQUIRED)
jb_add_qt_test(tst_idx SOURCES tst_idx.cpp LIBS jb_engine ZLIB::ZLIB TORCH TIMEOUT 60
               LABELS engine data)
jb_add_qt_test(tst_datasets SOURCES tst_datasets.cpp LIBS jb_engine TORCH TIMEOUT 120
               LABELS engine data)
