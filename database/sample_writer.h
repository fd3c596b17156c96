// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "sample_codec.h"
#include "store_types.h"

#include <QElapsedTimer>
#include <QSqlQuery>

#include <cmath>
#include <optional>
#include <vector>

namespace jb::db {

class Store;

/// Stores the energy samples of one run: per domain a series of (t seconds since run start,
/// cumulative joules), buffered and written as compressed chunks (sample_codec.h) of
/// chunkSize() samples, many chunks per transaction.
///
/// Durability: flush() writes everything buffered, including the chunk being filled (it is
/// rewritten in place as it grows, so flushing never fragments the series). append() also
/// flushes by itself every autoFlushInterval() so a crashed run keeps its samples up to then.
///
/// Threads: created by Store::sampleWriter() and used only on the Store's thread (collect
/// samples from the sampler thread, then append them here). Destroy it before the Store; the
/// destructor flushes (errors are logged; call flush() first to see them).
class SampleWriter
{
public:
    ~SampleWriter();
    SampleWriter(const SampleWriter &) = delete;
    SampleWriter &operator=(const SampleWriter &) = delete;

    qint64 runId() const { return m_runId; }

    /// Registers a domain of the run (Store::addDomain) and returns its channel index for
    /// append(). Channels are numbered 0, 1, ... in the order of addDomain calls.
    std::optional<int> addDomain(const RunDomain &domain, QString *error);

    /// Appends one sample. t must not decrease within a channel and both values must be
    /// finite. Cheap (a vector push); every chunkSize() samples a chunk is encoded, and every
    /// 16 chunks (or autoFlushInterval()) a transaction is written.
    bool append(int channel, double t, double joules, QString *error = nullptr)
    {
        if (Q_UNLIKELY(channel < 0 || channel >= static_cast<int>(m_channels.size())))
            return rejectChannel(channel, error);
        Channel &c = m_channels[static_cast<size_t>(channel)];
        if (Q_UNLIKELY(!(t >= c.lastT) || !std::isfinite(t) || !std::isfinite(joules)))
            return rejectSample(channel, t, joules, error);
        c.lastT = t;
        c.buffer.push_back({t, joules});
        if (Q_UNLIKELY(static_cast<int>(c.buffer.size()) >= m_chunkSize))
            return sealChunk(channel, error);
        if (Q_UNLIKELY(--m_timeCheckCountdown <= 0))
            return checkAutoFlush(error);
        return true;
    }
    /// Appends many samples of one channel.
    bool append(int channel, const EnergySample *samples, qsizetype n, QString *error = nullptr);

    /// Writes every buffered sample (one transaction).
    bool flush(QString *error);

    /// Samples per chunk, 64 .. 65536 (default 4096). Takes effect for the next chunk.
    void setChunkSize(int samples);
    int chunkSize() const { return m_chunkSize; }
    /// 0 disables automatic flushing (default 1000 ms).
    void setAutoFlushInterval(int milliseconds) { m_autoFlushMs = milliseconds; }
    int autoFlushInterval() const { return m_autoFlushMs; }

    /// Samples written to the database so far (committed).
    qint64 samplesStored() const { return m_samplesStored; }

private:
    friend class Store;
    SampleWriter(Store *store, qint64 runId);
    void detach();

    struct Channel
    {
        qint64 domainId = 0;
        QString name;
        int seq = 0; ///< sequence number of the chunk being filled
        std::vector<EnergySample> buffer;
        bool hasPrev = false;
        EnergySample prev; ///< last sample of the previous chunk
        double lastT = -std::numeric_limits<double>::infinity();
        qsizetype flushedInOpenChunk = 0; ///< samples of the open chunk already stored
    };
    struct Pending
    {
        qint64 domainId;
        int seq;
        EncodedChunk chunk;
    };

    bool rejectChannel(int channel, QString *error) const;
    bool rejectSample(int channel, double t, double joules, QString *error) const;
    bool sealChunk(int channel, QString *error);
    bool checkAutoFlush(QString *error);
    void encodeInto(Channel &c, Pending *p) const;
    bool writePending(QString *error);

    Store *m_store;
    qint64 m_runId;
    std::vector<Channel> m_channels;
    std::vector<Pending> m_pending;
    qint64 m_pendingSamples = 0;
    qint64 m_samplesStored = 0;
    int m_chunkSize = 4096;
    int m_autoFlushMs = 1000;
    int m_timeCheckCountdown = 1024;
    QElapsedTimer m_sinceFlush;
    std::optional<QSqlQuery> m_insert;
};

} // namespace jb::db
