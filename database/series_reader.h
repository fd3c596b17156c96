// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "store_types.h"

#include <optional>
#include <vector>

namespace jb::db {

class Store;

/// Reads stored samples back: raw, or as a min/max power envelope from the finest pyramid
/// level that is cheap enough (whole chunks, blocks of SampleCodec::BlockSize samples, or
/// every sample interval). Internal to Store::readSeries() / Store::readRaw().
/// Threads: the Store's thread.
class SeriesReader
{
public:
    explicit SeriesReader(const Store &store) : m_store(store) {}

    std::optional<PowerSeries> read(qint64 runId, const QString &domain, double t0, double t1,
                                    int maxPoints, QString *error) const;
    std::optional<QList<EnergySample>> raw(qint64 runId, const QString &domain, double t0,
                                           double t1, QString *error) const;

private:
    struct ChunkMeta
    {
        int seq = 0;
        int n = 0;
        double t0 = 0, t1 = 0, j0 = 0, j1 = 0;
        bool hasPrev = false;
        double prevT = 0, prevJ = 0;
        double pMin = NoValue, pMax = NoValue;
        double start() const { return hasPrev ? prevT : t0; }
        double jStart() const { return hasPrev ? prevJ : j0; }
    };
    /// Chunks whose intervals overlap [t0, t1] (intervals = true) or whose samples do.
    bool chunks(qint64 domainId, double t0, double t1, bool intervals, std::vector<ChunkMeta> *out,
                QString *error) const;
    /// Decodes the samples of the given chunks, in order.
    bool decodeChunks(qint64 domainId, const std::vector<ChunkMeta> &metas,
                      std::vector<EnergySample> *samples, QString *error) const;

    const Store &m_store;
};

} // namespace jb::db
