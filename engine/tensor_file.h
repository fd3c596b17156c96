// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "dataset.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace jb {

/// The JouleBench tensor file (".jbt"): a labelled data set in one simple, versioned binary file,
/// so users can bring their own data without pickle or torch::save. Version 1, little-endian:
///
/// | offset | size      | field                                                          |
/// |--------|-----------|----------------------------------------------------------------|
/// | 0      | 8         | magic "JBTENSOR"                                               |
/// | 8      | 4         | u32 version = 1                                                |
/// | 12     | 4         | u32 dtype of the inputs: 1 = uint8, 2 = float32                 |
/// | 16     | 4         | u32 ndim of the inputs including N: 2..5                       |
/// | 20     | 4         | u32 numClasses: 1..1000000                                     |
/// | 24     | 4         | u32 number of class names: 0 or numClasses                     |
/// | 28     | 4         | u32 reserved, 0                                                |
/// | 32     | 8 x ndim  | i64 dims: N >= 1, then the sample shape, each 1..65536          |
/// |        |           | class names: u32 byte length (<= 1024), then UTF-8 bytes        |
/// |        | N x S x w | inputs, C order (S = product of the sample shape, w = 1 or 4)  |
/// |        | 4 x N     | i32 labels in [0, numClasses)                                  |
/// |        | 4         | u32 CRC-32 (zlib) of every preceding byte                      |
///
/// uint8 inputs load as value / 255 (images stay 4x smaller on disk), float32 as they are (must
/// be finite). The file may be gzip-compressed as a whole. See docs/datasets.md.
constexpr quint32 kTensorFileVersion = 1;

/// Writes inputs ([N, ...], uint8 or float32, any device) and integer targets ([N], values in
/// [0, numClasses)) as a version-1 tensor file, atomically (QSaveFile). classNames may be empty.
/// Any thread.
bool writeTensorFile(const QString &path, const torch::Tensor &inputs,
                     const torch::Tensor &targets, int numClasses, const QStringList &classNames,
                     QString *error);
/// Same for a Dataset (its inputs are float32, so stored as float32).
bool writeTensorFile(const QString &path, const Dataset &data, QString *error);

/// Reads a tensor file (gzipped or not) and checks everything: magic, version, dtype, limits,
/// exact size, CRC-32, label range, finite values. Errors name the file, the offset and the
/// expectation. Inputs come back as float32; name is left empty. When `files` is given, the
/// file read is appended to it. Any thread.
std::optional<Dataset> readTensorFile(const QString &path, QString *error,
                                      QList<DataFileRecord> *files = nullptr);

} // namespace jb
