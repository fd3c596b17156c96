// SPDX-License-Identifier: GPL-3.0-or-later
#include "series_reader.h"

#include "sample_codec.h"
#include "store.h"

#include <cmath>
#include <limits>

namespace jb::db {

using sql::fail;

namespace {

constexpr double Inf = std::numeric_limits<double>::infinity();

/// Time buckets of equal width over [t0, t1]; an element (interval, block or chunk) goes to
/// the bucket holding its end time, and the bucket reports exactly the range it covers.
class Bucketer
{
public:
    Bucketer(double t0, double t1, int n) : m_t0(t0), m_t1(t1), m_acc(static_cast<size_t>(n))
    {
        m_width = (t1 - t0) / n;
    }

    void add(double ts, double te, double js, double je, double mn, double mx)
    {
        if (te < m_t0 || ts > m_t1 || !(mn <= mx))
            return;
        const int last = static_cast<int>(m_acc.size()) - 1;
        const double x = m_width > 0 ? (te - m_t0) / m_width : 0.0;
        const int k = x <= 0 ? 0 : x >= last ? last : static_cast<int>(x);
        Acc &a = m_acc[static_cast<size_t>(k)];
        if (!a.used) {
            a.used = true;
            a.ts = ts;
            a.js = js;
        }
        a.te = te;
        a.je = je;
        a.mn = std::min(a.mn, mn);
        a.mx = std::max(a.mx, mx);
    }

    QList<PowerBucket> buckets() const
    {
        QList<PowerBucket> out;
        for (const Acc &a : m_acc) {
            if (!a.used)
                continue;
            const double dt = a.te - a.ts;
            out.append({a.ts, a.te, a.mn, a.mx, dt > 0 ? (a.je - a.js) / dt : NoValue});
        }
        return out;
    }

private:
    struct Acc
    {
        bool used = false;
        double ts = 0, te = 0, js = 0, je = 0;
        double mn = Inf, mx = -Inf;
    };
    double m_t0, m_t1, m_width = 0;
    std::vector<Acc> m_acc;
};

} // namespace

std::optional<qint64> Store::domainId(qint64 runId, const QString &domain, ValueKind *kind,
                                      QString *error) const
{
    const QString what = QStringLiteral("reading domain '%1' of run %2").arg(domain).arg(runId);
    if (!checkUsable(error))
        return std::nullopt;
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("SELECT id, kind FROM run_domain WHERE run_id = ? AND "
                                       "name = ?"),
                        what, error))
        return std::nullopt;
    q.addBindValue(runId);
    q.addBindValue(domain);
    if (!m_conn.exec(q, what, error))
        return std::nullopt;
    if (!q.next()) {
        QStringList names;
        if (const auto all = domains(runId, nullptr))
            for (const RunDomain &d : *all)
                names << d.name;
        fail(error,
             QStringLiteral("run %1 in %2 has no energy domain '%3' (it has: %4)")
                 .arg(runId)
                 .arg(m_conn.path, domain,
                      names.isEmpty() ? QStringLiteral("none") : names.join(QStringLiteral(", "))));
        return std::nullopt;
    }
    if (kind)
        *kind = valueKindFromName(q.value(1).toString()).value_or(ValueKind::Estimate);
    return q.value(0).toLongLong();
}

std::optional<PowerSeries> Store::readSeries(qint64 runId, const QString &domain, double t0,
                                             double t1, int maxPoints, QString *error) const
{
    return SeriesReader(*this).read(runId, domain, t0, t1, maxPoints, error);
}

std::optional<QList<EnergySample>> Store::readRaw(qint64 runId, const QString &domain, double t0,
                                                  double t1, QString *error) const
{
    return SeriesReader(*this).raw(runId, domain, t0, t1, error);
}

bool SeriesReader::chunks(qint64 domainId, double t0, double t1, bool intervals,
                          std::vector<ChunkMeta> *out, QString *error) const
{
    const sql::Connection &c = m_store.m_conn;
    const QString what = QStringLiteral("reading sample chunks");
    QSqlQuery q = c.query();
    const QString startExpr =
        intervals ? QStringLiteral("COALESCE(prev_t, t0)") : QStringLiteral("t0");
    if (!c.prepare(q,
                   QStringLiteral("SELECT seq, n, t0, t1, j0, j1, prev_t, prev_j, p_min, p_max "
                                  "FROM sample_chunk WHERE domain_id = ? AND t1 >= ? AND ") +
                       startExpr + QStringLiteral(" <= ? ORDER BY domain_id, t1, seq"),
                   what, error))
        return false;
    q.addBindValue(domainId);
    q.addBindValue(t0);
    q.addBindValue(t1);
    if (!c.exec(q, what, error))
        return false;
    while (q.next()) {
        ChunkMeta m;
        m.seq = q.value(0).toInt();
        m.n = q.value(1).toInt();
        m.t0 = q.value(2).toDouble();
        m.t1 = q.value(3).toDouble();
        m.j0 = q.value(4).toDouble();
        m.j1 = q.value(5).toDouble();
        const QVariant prevT = q.value(6);
        m.hasPrev = !prevT.isNull();
        m.prevT = prevT.toDouble();
        m.prevJ = q.value(7).toDouble();
        const QVariant pMin = q.value(8), pMax = q.value(9);
        m.pMin = pMin.isNull() ? NoValue : pMin.toDouble();
        m.pMax = pMax.isNull() ? NoValue : pMax.toDouble();
        out->push_back(m);
    }
    if (q.lastError().isValid())
        return fail(error, c.describe(q.lastError(), what));
    return true;
}

bool SeriesReader::decodeChunks(qint64 domainId, const std::vector<ChunkMeta> &metas,
                                std::vector<EnergySample> *samples, QString *error) const
{
    if (metas.empty())
        return true;
    const sql::Connection &c = m_store.m_conn;
    const QString what = QStringLiteral("reading samples");
    QSqlQuery q = c.query();
    if (!c.prepare(q,
                   QStringLiteral("SELECT seq, n, codec, data FROM sample_chunk WHERE "
                                  "domain_id = ? AND seq BETWEEN ? AND ? ORDER BY seq"),
                   what, error))
        return false;
    q.addBindValue(domainId);
    q.addBindValue(metas.front().seq);
    q.addBindValue(metas.back().seq);
    if (!c.exec(q, what, error))
        return false;
    qsizetype total = 0;
    for (const ChunkMeta &m : metas)
        total += m.n;
    samples->reserve(static_cast<size_t>(total));
    while (q.next()) {
        QString decodeError;
        if (!SampleCodec::decode(q.value(2).toInt(), q.value(3).toByteArray(), q.value(1).toInt(),
                                 samples, &decodeError))
            return fail(error, QStringLiteral("database %1 is damaged: %2 (chunk %3 of domain "
                                              "%4); restore it from a copy")
                                   .arg(c.path, decodeError)
                                   .arg(q.value(0).toInt())
                                   .arg(domainId));
    }
    if (q.lastError().isValid())
        return fail(error, c.describe(q.lastError(), what));
    return true;
}

std::optional<PowerSeries> SeriesReader::read(qint64 runId, const QString &domain, double t0,
                                              double t1, int maxPoints, QString *error) const
{
    if (maxPoints < 1 || std::isnan(t0) || std::isnan(t1) || t1 < t0) {
        fail(error, QStringLiteral("invalid power series request for domain '%1' of run %2: "
                                   "window [%3, %4] s, %5 points; need t0 <= t1 and at least "
                                   "one point")
                        .arg(domain)
                        .arg(runId)
                        .arg(t0)
                        .arg(t1)
                        .arg(maxPoints));
        return std::nullopt;
    }
    PowerSeries series;
    series.domain = domain;
    const std::optional<qint64> id = m_store.domainId(runId, domain, &series.kind, error);
    if (!id)
        return std::nullopt;
    std::vector<ChunkMeta> metas;
    if (!chunks(*id, t0, t1, true, &metas, error))
        return std::nullopt;
    if (metas.empty())
        return series;
    for (const ChunkMeta &m : metas)
        series.samplesInWindow += m.n;
    const double w0 = std::max(t0, metas.front().start());
    const double w1 = std::min(t1, metas.back().t1);
    const qint64 nChunks = static_cast<qint64>(metas.size());
    const qint64 nBlocks = series.samplesInWindow / SampleCodec::BlockSize;
    series.level = nChunks >= maxPoints ? 2 : nBlocks >= maxPoints ? 1 : 0;
    // Never more buckets than elements at the chosen level (bounds memory for huge maxPoints).
    const qint64 elements = series.level == 2   ? nChunks
                            : series.level == 1 ? nBlocks + nChunks
                                                : series.samplesInWindow;
    Bucketer bucketer(w0, w1, static_cast<int>(std::min<qint64>(maxPoints, elements)));

    if (series.level == 2) {
        for (const ChunkMeta &m : metas)
            bucketer.add(m.start(), m.t1, m.jStart(), m.j1, m.pMin, m.pMax);
    } else if (series.level == 1) {
        const sql::Connection &c = m_store.m_conn;
        const QString what = QStringLiteral("reading sample blocks");
        QSqlQuery q = c.query();
        if (!c.prepare(q,
                       QStringLiteral("SELECT n, blocks FROM sample_chunk WHERE domain_id = ? "
                                      "AND seq BETWEEN ? AND ? ORDER BY seq"),
                       what, error))
            return std::nullopt;
        q.addBindValue(*id);
        q.addBindValue(metas.front().seq);
        q.addBindValue(metas.back().seq);
        if (!c.exec(q, what, error))
            return std::nullopt;
        std::vector<BlockSummary> blocks;
        for (const ChunkMeta &m : metas) {
            if (!q.next()) {
                fail(error, q.lastError().isValid()
                                ? c.describe(q.lastError(), what)
                                : QStringLiteral("database %1 changed while reading the "
                                                 "samples of run %2; read again")
                                      .arg(c.path)
                                      .arg(runId));
                return std::nullopt;
            }
            blocks.clear();
            QString decodeError;
            if (!SampleCodec::decodeBlocks(q.value(1).toByteArray(), q.value(0).toInt(), &blocks,
                                           &decodeError)) {
                fail(error, QStringLiteral("database %1 is damaged: %2 (run %3, domain '%4'); "
                                           "restore it from a copy")
                                .arg(c.path, decodeError)
                                .arg(runId)
                                .arg(domain));
                return std::nullopt;
            }
            double ts = m.start(), js = m.jStart();
            for (const BlockSummary &b : blocks) {
                bucketer.add(ts, b.tEnd, js, b.jEnd, b.minW, b.maxW);
                ts = b.tEnd;
                js = b.jEnd;
            }
        }
    } else {
        std::vector<EnergySample> samples;
        if (!decodeChunks(*id, metas, &samples, error))
            return std::nullopt;
        const ChunkMeta &first = metas.front();
        bool havePrev = first.hasPrev;
        EnergySample prev{first.prevT, first.prevJ};
        for (const EnergySample &s : samples) {
            if (havePrev) {
                const double dt = s.t - prev.t;
                if (dt > 0) {
                    const double p = (s.joules - prev.joules) / dt;
                    bucketer.add(prev.t, s.t, prev.joules, s.joules, p, p);
                }
            }
            prev = s;
            havePrev = true;
        }
    }
    series.buckets = bucketer.buckets();
    return series;
}

std::optional<QList<EnergySample>> SeriesReader::raw(qint64 runId, const QString &domain, double t0,
                                                     double t1, QString *error) const
{
    if (std::isnan(t0) || std::isnan(t1) || t1 < t0) {
        fail(error, QStringLiteral("invalid sample window [%1, %2] s for domain '%3' of run %4")
                        .arg(t0)
                        .arg(t1)
                        .arg(domain)
                        .arg(runId));
        return std::nullopt;
    }
    const std::optional<qint64> id = m_store.domainId(runId, domain, nullptr, error);
    if (!id)
        return std::nullopt;
    std::vector<ChunkMeta> metas;
    std::vector<EnergySample> samples;
    if (!chunks(*id, t0, t1, false, &metas, error) || !decodeChunks(*id, metas, &samples, error))
        return std::nullopt;
    QList<EnergySample> out;
    out.reserve(static_cast<qsizetype>(samples.size()));
    for (const EnergySample &s : samples)
        if (s.t >= t0 && s.t <= t1)
            out.append(s);
    return out;
}

} // namespace jb::db
