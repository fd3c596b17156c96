// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "dataset.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <optional>

namespace jb {

/// The whole contents of one data file, gunzipped when the file is gzip-compressed (detected by
/// its magic bytes 1f 8b, not by its name). Shared by the IDX, CIFAR and tensor-file readers.
struct DataFile
{
    QString path;         ///< as given
    QByteArray bytes;     ///< decompressed contents
    qint64 fileBytes = 0; ///< size on disk
    bool gzip = false;    ///< the file was gzip-compressed
    quint32 crc32 = 0;    ///< CRC-32 (zlib) of the decompressed contents: identifies the data

    DataFileRecord record() const { return {path, fileBytes, crc32}; }
};

/// Default limit of a decompressed data file: beyond it the reader refuses before allocating.
constexpr qint64 kMaxDataFileBytes = qint64(8) << 30; // 8 GiB

/// Reads a file into memory, decompressing gzip (also multi-member gzip) with zlib. Fails with a
/// message naming the file when it is missing, unreadable, a damaged or truncated gzip stream,
/// or larger than maxBytes once decompressed. Any thread; no shared state.
std::optional<DataFile> readDataFile(const QString &path, QString *error,
                                     qint64 maxBytes = kMaxDataFileBytes);

/// Limits the IDX reader enforces before it allocates anything.
constexpr qint64 kMaxIdxCount = 100'000'000;
constexpr qint64 kMaxIdxSide = 4096;

/// Reads an IDX image/label pair (MNIST, Fashion-MNIST, EMNIST...), gzipped or not.
///
/// Images: magic 0x00000803 (unsigned bytes, 3 dimensions: count x rows x columns); labels:
/// magic 0x00000801 (unsigned bytes, 1 dimension: count). All integers big-endian. Every size,
/// magic number and label is checked: a truncated or corrupt file gives an error that names the
/// file, the byte offset and what was expected, e.g.
/// "train-images-idx3-ubyte.gz: truncated at byte 1234: expected 47040016 bytes (16-byte header
/// + image data 60000 x 28 x 28)". Offsets count decompressed bytes.
///
/// The result holds inputs float32 [N, 1, rows, columns] scaled to [0, 1] (pixel / 255, not yet
/// normalised) and targets int64 [N] in [0, numClasses). name and classNames are left empty.
/// When `files` is given, the two files read are appended to it. Any thread; libtorch errors are
/// caught and returned.
std::optional<Dataset> readIdx(const QString &imagesPath, const QString &labelsPath,
                               int numClasses, QString *error,
                               QList<DataFileRecord> *files = nullptr);
/// Same, with the 10 classes of MNIST and Fashion-MNIST.
std::optional<Dataset> readIdx(const QString &imagesPath, const QString &labelsPath,
                               QString *error);

} // namespace jb
