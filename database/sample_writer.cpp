// SPDX-License-Identifier: GPL-3.0-or-later
#include "sample_writer.h"

#include "database_log.h"
#include "store.h"

namespace jb::db {

using sql::fail;

namespace {
constexpr qint64 CommitSamples = 16 * 4096; // samples per transaction when nothing else flushes
constexpr int TimeCheckEvery = 1024;        // appends between clock reads
} // namespace

std::unique_ptr<SampleWriter> Store::sampleWriter(qint64 runId, QString *error)
{
    const QString what = QStringLiteral("storing samples of run %1").arg(runId);
    if (!checkWritable(what, error) || !checkRunning(runId, what, error))
        return nullptr;
    std::unique_ptr<SampleWriter> writer(new SampleWriter(this, runId));
    m_writers.append(writer.get());
    return writer;
}

SampleWriter::SampleWriter(Store *store, qint64 runId) : m_store(store), m_runId(runId)
{
    m_sinceFlush.start();
}

SampleWriter::~SampleWriter()
{
    if (!m_store)
        return;
    QString error;
    if (!flush(&error))
        qCWarning(lcDatabase).noquote() << error;
    m_insert.reset();
    m_store->m_writers.removeOne(this);
}

void SampleWriter::detach()
{
    m_insert.reset();
    m_store = nullptr;
}

std::optional<int> SampleWriter::addDomain(const RunDomain &domain, QString *error)
{
    if (!m_store) {
        fail(error, QStringLiteral("the database of this sample writer was closed"));
        return std::nullopt;
    }
    const std::optional<qint64> id = m_store->addDomain(m_runId, domain, error);
    if (!id)
        return std::nullopt;
    Channel c;
    c.domainId = *id;
    c.name = domain.name;
    c.buffer.reserve(static_cast<size_t>(m_chunkSize));
    m_channels.push_back(std::move(c));
    return static_cast<int>(m_channels.size()) - 1;
}

void SampleWriter::setChunkSize(int samples)
{
    m_chunkSize = std::clamp(samples, 64, 65536);
}

bool SampleWriter::rejectChannel(int channel, QString *error) const
{
    return fail(error, QStringLiteral("sample for channel %1 of run %2, which has %3 domain "
                                      "channel(s); call addDomain() first")
                           .arg(channel)
                           .arg(m_runId)
                           .arg(m_channels.size()));
}

bool SampleWriter::rejectSample(int channel, double t, double joules, QString *error) const
{
    const Channel &c = m_channels[static_cast<size_t>(channel)];
    if (!std::isfinite(t) || !std::isfinite(joules))
        return fail(error, QStringLiteral("sample of domain '%1' of run %2 is not finite "
                                          "(t = %3 s, %4 J); the meter read failed")
                               .arg(c.name)
                               .arg(m_runId)
                               .arg(t)
                               .arg(joules));
    return fail(error, QStringLiteral("sample of domain '%1' of run %2 goes back in time "
                                      "(t = %3 s after %4 s); samples must be appended in "
                                      "time order")
                           .arg(c.name)
                           .arg(m_runId)
                           .arg(t, 0, 'g', 17)
                           .arg(c.lastT, 0, 'g', 17));
}

bool SampleWriter::append(int channel, const EnergySample *samples, qsizetype n, QString *error)
{
    for (qsizetype i = 0; i < n; ++i)
        if (!append(channel, samples[i].t, samples[i].joules, error))
            return false;
    return true;
}

void SampleWriter::encodeInto(Channel &c, Pending *p) const
{
    p->domainId = c.domainId;
    p->seq = c.seq;
    SampleCodec::encode(c.buffer.data(), static_cast<int>(c.buffer.size()),
                        c.hasPrev ? &c.prev : nullptr, &p->chunk);
}

bool SampleWriter::sealChunk(int channel, QString *error)
{
    Channel &c = m_channels[static_cast<size_t>(channel)];
    Pending p;
    encodeInto(c, &p);
    m_pending.push_back(std::move(p));
    m_pendingSamples += static_cast<qint64>(c.buffer.size()) - c.flushedInOpenChunk;
    c.prev = c.buffer.back();
    c.hasPrev = true;
    c.buffer.clear();
    c.flushedInOpenChunk = 0;
    ++c.seq;
    if (m_pendingSamples >= CommitSamples)
        return writePending(error);
    return true;
}

bool SampleWriter::checkAutoFlush(QString *error)
{
    m_timeCheckCountdown = TimeCheckEvery;
    if (m_autoFlushMs > 0 && m_sinceFlush.elapsed() >= m_autoFlushMs)
        return flush(error);
    return true;
}

bool SampleWriter::flush(QString *error)
{
    m_sinceFlush.restart();
    if (!m_store)
        return m_pending.empty() ||
               fail(error, QStringLiteral("%1 samples of run %2 were not stored: the database "
                                          "was closed before the sample writer")
                               .arg(m_pendingSamples)
                               .arg(m_runId));
    // The open chunk of each channel is stored too and replaced as it grows.
    for (Channel &c : m_channels) {
        if (static_cast<qsizetype>(c.buffer.size()) == c.flushedInOpenChunk)
            continue;
        Pending p;
        encodeInto(c, &p);
        m_pending.push_back(std::move(p));
        m_pendingSamples += static_cast<qint64>(c.buffer.size()) - c.flushedInOpenChunk;
        c.flushedInOpenChunk = static_cast<qsizetype>(c.buffer.size());
    }
    return writePending(error);
}

bool SampleWriter::writePending(QString *error)
{
    if (m_pending.empty())
        return true;
    if (!m_store)
        return fail(error, QStringLiteral("the database of this sample writer was closed"));
    const sql::Connection &conn = m_store->m_conn;
    const QString what = QStringLiteral("storing samples of run %1").arg(m_runId);
    if (!m_store->checkWritable(what, error))
        return false;
    if (!m_insert) {
        m_insert.emplace(conn.db);
        if (!conn.prepare(*m_insert,
                          QStringLiteral("INSERT OR REPLACE INTO sample_chunk (domain_id, seq, "
                                         "n, t0, t1, j0, j1, prev_t, prev_j, p_min, p_max, "
                                         "codec, blocks, data) VALUES "
                                         "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                          what, error)) {
            m_insert.reset();
            return false;
        }
    }
    sql::WriteTransaction txn(conn);
    if (!txn.begin(what, error))
        return false; // pending chunks stay buffered; a later flush retries
    QSqlQuery &q = *m_insert;
    const auto real = [](double v) { return std::isnan(v) ? QVariant() : QVariant(v); };
    for (const Pending &p : m_pending) {
        const EncodedChunk &c = p.chunk;
        q.bindValue(0, p.domainId);
        q.bindValue(1, p.seq);
        q.bindValue(2, c.n);
        q.bindValue(3, c.t0);
        q.bindValue(4, c.t1);
        q.bindValue(5, c.j0);
        q.bindValue(6, c.j1);
        q.bindValue(7, c.hasPrev ? QVariant(c.prevT) : QVariant());
        q.bindValue(8, c.hasPrev ? QVariant(c.prevJ) : QVariant());
        q.bindValue(9, real(c.pMin));
        q.bindValue(10, real(c.pMax));
        q.bindValue(11, c.codec);
        q.bindValue(12, c.blocks);
        q.bindValue(13, c.data);
        if (!conn.exec(q, what, error))
            return false;
    }
    if (!txn.commit(error))
        return false;
    m_samplesStored += m_pendingSamples;
    m_pending.clear();
    m_pendingSamples = 0;
    return true;
}

} // namespace jb::db
