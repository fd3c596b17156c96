// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QString>
#include <QStringList>

#include <torch/types.h>

#include <vector>

namespace jb {

/// A labelled data set held as tensors in memory; batches are taken by index, so loading is
/// never the bottleneck. Loaders (IDX, CIFAR, tensor file) fill it; subsets and splits share
/// no storage with the original unless documented.
struct Dataset
{
    QString name;               ///< e.g. "fashion-mnist/train"
    torch::Tensor inputs;       ///< float32 [N, C, H, W] (or [N, F] for flat data), normalised
    torch::Tensor targets;      ///< int64 [N], values in [0, numClasses)
    int numClasses = 0;
    QStringList classNames;     ///< may be empty

    int64_t size() const { return targets.defined() ? targets.size(0) : 0; }
    /// Shape of one sample, e.g. {1, 28, 28}.
    std::vector<int64_t> sampleShape() const
    {
        if (!inputs.defined())
            return {};
        auto s = inputs.sizes().vec();
        s.erase(s.begin());
        return s;
    }
};

/// One file a data set was read from, recorded with a run so that results name their data.
struct DataFileRecord
{
    QString path;
    qint64 bytes = 0;  ///< size on disk
    quint32 crc32 = 0; ///< CRC-32 (zlib) of the decompressed contents
};

} // namespace jb
