// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "dataset.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace jb {

/// Reads CIFAR-10 or CIFAR-100 files in the *binary* version
/// (https://www.cs.toronto.edu/~kriz/cifar.html), gzipped or not, and concatenates them in the
/// order given.
///
/// CIFAR-10 (numClasses 10): records of 1 label byte + 3072 image bytes (data_batch_1.bin ..
/// data_batch_5.bin, test_batch.bin). CIFAR-100 (numClasses 100): records of 1 coarse label byte
/// (0..19) + 1 fine label byte (0..99) + 3072 image bytes (train.bin, test.bin); the fine label
/// is the target. Image bytes are 1024 red, 1024 green, 1024 blue, rows of 32.
///
/// Every file must be a whole number of records and every label in range; otherwise the error
/// names the file, the byte offset and what was expected. The result holds inputs float32
/// [N, 3, 32, 32] scaled to [0, 1] (not normalised) and targets int64 [N]; name and classNames
/// are left empty. When `files` is given, the files read are appended to it. Any thread.
std::optional<Dataset> readCifar(const QStringList &batchFiles, int numClasses, QString *error,
                                 QList<DataFileRecord> *files = nullptr);

} // namespace jb
