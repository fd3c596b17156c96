// SPDX-License-Identifier: GPL-3.0-or-later
// Sample chunks: lossless codec, writer round trip through the database, and the min/max
// power envelope at every pyramid level (chunks, blocks, sample intervals).
#include "db_test_util.h"

#include "database/sample_codec.h"
#include "database/sample_writer.h"

#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <limits>

using namespace jb::db;
using jbtest::RawDb;

namespace {

bool bitEqual(double a, double b)
{
    return std::memcmp(&a, &b, sizeof a) == 0;
}

/// Sampler-like series: t = ns / 1e9 with jitter, J = uJ / 1e6 (RAPL-like), power with spikes.
std::vector<EnergySample> makeSeries(int n, quint32 seed, bool onGrid = true)
{
    QRandomGenerator rng(seed);
    std::vector<EnergySample> out;
    out.reserve(static_cast<size_t>(n));
    qint64 ns = 0, uj = 0;
    double t = 0, j = 0;
    for (int i = 0; i < n; ++i) {
        if (onGrid) {
            out.push_back({static_cast<double>(ns) / 1e9, static_cast<double>(uj) / 1e6});
        } else {
            out.push_back({t, j});
        }
        const qint64 dtNs = 1000000 + static_cast<qint64>(rng.bounded(20000)) - 10000;
        double watts = 20.0 + rng.generateDouble() * 5.0;
        if (rng.bounded(5000) == 0)
            watts = 150.0 + rng.bounded(50); // rare spike
        if (rng.bounded(7000) == 0)
            watts = 0.5; // rare dip
        ns += dtNs;
        uj += static_cast<qint64>(watts * static_cast<double>(dtNs) / 1000.0);
        t += dtNs * 1.0000001e-9;
        j += watts * dtNs * 1e-9 + 1e-13;
    }
    return out;
}

} // namespace

class TestDatabaseSamples : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    int m_files = 0;
    Store m_envStore; ///< the 300k-sample run shared by the envelope rows
    qint64 m_envRun = 0;
    std::vector<EnergySample> m_envSeries;

    /// A database with one run holding `series` in domain "package-0".
    qint64 storeSeries(Store &store, const std::vector<EnergySample> &series, int chunkSize,
                       QString *error)
    {
        const QString file = m_dir.filePath(QStringLiteral("s-%1.sqlite").arg(++m_files));
        if (!store.open(file, Store::OpenMode::ReadWrite, error))
            return 0;
        const auto exp =
            store.createExperiment(QStringLiteral("e"), "{}", QStringLiteral("h"), error);
        const auto run = store.createRun(*exp, jbtest::key("k", 0), {}, {}, error);
        auto writer = store.sampleWriter(*run, error);
        writer->setChunkSize(chunkSize);
        const auto ch = writer->addDomain(
            {0, QStringLiteral("package-0"), ValueKind::Measured, QStringLiteral("rapl")}, error);
        if (!ch ||
            !writer->append(*ch, series.data(), static_cast<qsizetype>(series.size()), error))
            return 0;
        return writer->flush(error) ? *run : 0;
    }

    /// Checks the envelope against powers computed from the raw samples.
    static void checkEnvelope(const std::vector<EnergySample> &s, const PowerSeries &series,
                              double t0, double t1, int maxPoints)
    {
        QVERIFY(!series.buckets.isEmpty());
        QVERIFY(series.buckets.size() <= maxPoints);
        for (qsizetype b = 1; b < series.buckets.size(); ++b)
            QVERIFY(series.buckets[b].tStart >= series.buckets[b - 1].tEnd);
        // Every interval overlapping the window lies in exactly one bucket, within its
        // min/max; every bucket's extremes are attained (up to float rounding at level 1).
        const qsizetype nb = series.buckets.size();
        std::vector<double> lo(nb, std::numeric_limits<double>::infinity());
        std::vector<double> hi(nb, -std::numeric_limits<double>::infinity());
        double trueMin = lo[0], trueMax = hi[0];
        qsizetype b = 0;
        for (size_t i = 1; i < s.size(); ++i) {
            const double ts = s[i - 1].t, te = s[i].t;
            if (te <= ts)
                continue;
            const double p = (s[i].joules - s[i - 1].joules) / (te - ts);
            while (b < nb && series.buckets[b].tEnd < te)
                ++b;
            const bool inBucket = b < nb && series.buckets[b].tStart <= ts;
            if (inBucket) {
                lo[b] = std::min(lo[b], p);
                hi[b] = std::max(hi[b], p);
            }
            if (te < t0 || ts > t1)
                continue; // outside the window: may or may not be covered by an edge bucket
            QVERIFY2(inBucket, qPrintable(QStringLiteral("interval (%1, %2] is in no bucket")
                                              .arg(ts, 0, 'g', 17)
                                              .arg(te, 0, 'g', 17)));
            const PowerBucket &k = series.buckets[b];
            QVERIFY2(k.minW <= p && p <= k.maxW,
                     qPrintable(QStringLiteral("power %1 outside [%2, %3]")
                                    .arg(p, 0, 'g', 17)
                                    .arg(k.minW, 0, 'g', 17)
                                    .arg(k.maxW, 0, 'g', 17)));
            trueMin = std::min(trueMin, p);
            trueMax = std::max(trueMax, p);
        }
        const double tol = series.level == 1 ? 1e-6 : 0.0; // float rounding of block extremes
        double envMin = std::numeric_limits<double>::infinity(), envMax = -envMin;
        for (qsizetype k = 0; k < nb; ++k) {
            const PowerBucket &bk = series.buckets[k];
            QVERIFY(bk.minW >= lo[k] - tol * std::abs(lo[k]));
            QVERIFY(bk.maxW <= hi[k] + tol * std::abs(hi[k]));
            envMin = std::min(envMin, bk.minW);
            envMax = std::max(envMax, bk.maxW);
        }
        // The envelope holds the window's true extremes (edge buckets may reach further).
        QVERIFY(envMin <= trueMin);
        QVERIFY(envMax >= trueMax);
        if (t0 < s.front().t && t1 > s.back().t) {
            QVERIFY(envMin >= trueMin - tol * std::abs(trueMin));
            QVERIFY(envMax <= trueMax + tol * std::abs(trueMax));
        }
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }
    void cleanupTestCase() { m_envStore.close(); }

    void codecRoundTripIsBitExact_data()
    {
        QTest::addColumn<int>("kind");
        QTest::addColumn<int>("expectedCodec");
        QTest::newRow("ns + uJ grid")
            << 0 << int(SampleCodec::TimeNanoDod | SampleCodec::EnergyMicroDelta << 4);
        QTest::newRow("ns + nJ grid")
            << 1 << int(SampleCodec::TimeNanoDod | SampleCodec::EnergyNanoDelta << 4);
        QTest::newRow("arbitrary doubles") << 2 << 0;
        QTest::newRow("negative and zero")
            << 3 << int(SampleCodec::TimeNanoDod | SampleCodec::EnergyMicroDelta << 4);
        QTest::newRow("huge energy") << 4 << int(SampleCodec::TimeNanoDod);
        QTest::newRow("near grid: t - t0, joules summed in doubles")
            << 5
            << int(SampleCodec::TimeNanoDodResidual | SampleCodec::EnergyMicroDeltaResidual << 4);
    }
    void codecRoundTripIsBitExact()
    {
        QFETCH(int, kind);
        QFETCH(int, expectedCodec);
        QRandomGenerator rng(42);
        std::vector<EnergySample> s;
        const double clockStart = 123456.789012345; // steady clock at run start, seconds
        double summed = 0;
        for (int i = 0; i < 1000; ++i) {
            switch (kind) {
            case 0:
                s.push_back({i * 1000123 / 1e9, (i * 731 + i * i) / 1e6});
                break;
            case 1:
                s.push_back({i * 1000123 / 1e9, (i * 731 + i * i) / 1e9});
                break;
            case 2: // beyond the integer grids' range: raw doubles
                s.push_back({i * 1e7 + rng.generateDouble() * 1e6, rng.generateDouble() * 1e12});
                break;
            case 3:
                s.push_back({(i - 500) / 1e3, (i - 500) * 1.0});
                break;
            case 4:
                s.push_back({i / 1e3, 1e12 + i * 1e-3});
                break;
            case 5:
                summed += 25.0 * (1.0 + rng.generateDouble()) * 0.001;
                s.push_back({(clockStart * 1e9 + i * 1000123.0) / 1e9 - clockStart, summed});
                break;
            }
        }
        const EnergySample prev{-1.0, -2.0};
        EncodedChunk chunk;
        SampleCodec::encode(s.data(), 1000, &prev, &chunk);
        QCOMPARE(chunk.codec, expectedCodec);
        std::vector<EnergySample> back;
        QString error;
        QVERIFY2(SampleCodec::decode(chunk.codec, chunk.data, 1000, &back, &error),
                 qPrintable(error));
        QCOMPARE(back.size(), size_t(1000));
        for (size_t i = 0; i < back.size(); ++i) {
            QVERIFY(bitEqual(back[i].t, s[i].t));
            QVERIFY(bitEqual(back[i].joules, s[i].joules));
        }
        if (kind == 0) // compressed well below 16 bytes per sample
            QVERIFY2(chunk.data.size() < 1000 * 6, qPrintable(QString::number(chunk.data.size())));
        if (kind == 5) // residuals carry the off-grid low bits: smaller than raw, not tiny
            QVERIFY2(chunk.data.size() < 1000 * 13, qPrintable(QString::number(chunk.data.size())));
        // Truncated data is an error, never garbage.
        back.clear();
        QVERIFY(!SampleCodec::decode(chunk.codec, chunk.data.left(chunk.data.size() - 3), 1000,
                                     &back, &error));
        QVERIFY(back.empty());
    }

    void floatRoundingIsOutward()
    {
        for (double x : {0.1, -0.1, 1e-30, 123456.789, -3.4e38 * 10, 3.4e38 * 10, 1.0}) {
            QVERIFY(double(SampleCodec::floorToFloat(x)) <= x);
            QVERIFY(double(SampleCodec::ceilToFloat(x)) >= x);
        }
    }

    void writerRoundTripThroughDatabase()
    {
        Store store;
        QString error;
        const QString file = m_dir.filePath(QStringLiteral("rt.sqlite"));
        QVERIFY2(store.open(file, Store::OpenMode::ReadWrite, &error), qPrintable(error));
        const auto exp =
            store.createExperiment(QStringLiteral("e"), "{}", QStringLiteral("h"), &error);
        const auto run = store.createRun(*exp, jbtest::key("k", 0), {}, {}, &error);
        QVERIFY2(run, qPrintable(error));
        auto writer = store.sampleWriter(*run, &error);
        QVERIFY2(writer, qPrintable(error));
        writer->setChunkSize(500);
        writer->setAutoFlushInterval(0);
        const auto a = writer->addDomain(
            {0, QStringLiteral("package-0"), ValueKind::Measured, QStringLiteral("rapl-powercap")},
            &error);
        const auto b = writer->addDomain(
            {0, QStringLiteral("cpu"), ValueKind::Estimate, QStringLiteral("estimate")}, &error);
        QVERIFY(a && b);
        const auto sa = makeSeries(2345, 1, true);
        const auto sb = makeSeries(1234, 2, false); // off-grid: raw doubles
        // Interleaved appends with flushes in the middle of chunks.
        size_t ia = 0, ib = 0;
        int step = 0;
        while (ia < sa.size() || ib < sb.size()) {
            for (int k = 0; k < 37 && ia < sa.size(); ++k, ++ia)
                QVERIFY(writer->append(*a, sa[ia].t, sa[ia].joules, &error));
            for (int k = 0; k < 11 && ib < sb.size(); ++k, ++ib)
                QVERIFY(writer->append(*b, sb[ib].t, sb[ib].joules, &error));
            if (++step % 9 == 0)
                QVERIFY2(writer->flush(&error), qPrintable(error));
        }
        QVERIFY2(writer->flush(&error), qPrintable(error));
        QCOMPARE(writer->samplesStored(), qint64(sa.size() + sb.size()));

        // Flushing never fragments: chunks are full except the last one per domain.
        {
            RawDb raw(file);
            QCOMPARE(raw.value(QStringLiteral("SELECT COUNT(*) FROM sample_chunk c JOIN "
                                              "run_domain d ON d.id = c.domain_id WHERE "
                                              "d.name = 'package-0'"))
                         .toInt(),
                     5);
            QCOMPARE(raw.value(QStringLiteral("SELECT SUM(n) FROM sample_chunk")).toInt(),
                     int(sa.size() + sb.size()));
        }

        // Errors: time going back, non-finite values, unknown channel.
        QVERIFY(!writer->append(*a, 0.0, 1.0, &error));
        QVERIFY2(error.contains(QStringLiteral("goes back in time")), qPrintable(error));
        QVERIFY(!writer->append(*a, 1e9, std::numeric_limits<double>::quiet_NaN(), &error));
        QVERIFY2(error.contains(QStringLiteral("not finite")), qPrintable(error));
        QVERIFY(!writer->append(7, 1e9, 1.0, &error));
        QVERIFY2(error.contains(QStringLiteral("call addDomain() first")), qPrintable(error));
        writer.reset();

        const auto ra = store.readRaw(*run, QStringLiteral("package-0"), -1, 1e9, &error);
        QVERIFY2(ra, qPrintable(error));
        QCOMPARE(ra->size(), qsizetype(sa.size()));
        for (size_t i = 0; i < sa.size(); ++i)
            QVERIFY(bitEqual(ra->at(i).t, sa[i].t) && bitEqual(ra->at(i).joules, sa[i].joules));
        const auto rb = store.readRaw(*run, QStringLiteral("cpu"), -1, 1e9, &error);
        QCOMPARE(rb->size(), qsizetype(sb.size()));
        for (size_t i = 0; i < sb.size(); ++i)
            QVERIFY(bitEqual(rb->at(i).t, sb[i].t) && bitEqual(rb->at(i).joules, sb[i].joules));
        // A window returns exactly the samples inside it.
        const double w0 = sa[700].t, w1 = sa[1600].t;
        const auto part = store.readRaw(*run, QStringLiteral("package-0"), w0, w1, &error);
        QCOMPARE(part->size(), 901);
        QVERIFY(bitEqual(part->first().t, w0));
        QVERIFY(bitEqual(part->last().t, w1));

        QVERIFY(!store.readRaw(*run, QStringLiteral("gpu-9"), 0, 1, &error));
        QVERIFY2(error.contains(QStringLiteral("has no energy domain 'gpu-9' (it has: "
                                               "package-0, cpu)")),
                 qPrintable(error));
        const auto series = store.readSeries(*run, QStringLiteral("cpu"), 0, 1, 10, &error);
        QVERIFY2(series, qPrintable(error));
        QCOMPARE(series->kind, ValueKind::Estimate);
    }

    void envelopeContainsTrueExtremesAtEveryLevel_data()
    {
        QTest::addColumn<double>("from");
        QTest::addColumn<double>("to");
        QTest::addColumn<int>("maxPoints");
        QTest::addColumn<int>("level");
        // 300k samples at ~1 kHz (~300 s), chunks of 4096 (74 chunks), blocks of 64 (4688).
        QTest::newRow("whole run, 40 points: chunks") << -1e300 << 1e300 << 40 << 2;
        QTest::newRow("whole run, 1000 points: blocks") << -1e300 << 1e300 << 1000 << 1;
        QTest::newRow("whole run, 4000 points: blocks") << -1e300 << 1e300 << 4000 << 1;
        QTest::newRow("whole run, 10000 points: samples") << -1e300 << 1e300 << 10000 << 0;
        QTest::newRow("zoom 100-160 s, 400 points: blocks") << 100.0 << 160.0 << 400 << 1;
        QTest::newRow("zoom 100.5-104.2 s, 400 points: samples") << 100.5 << 104.2 << 400 << 0;
        QTest::newRow("one point") << -1e300 << 1e300 << 1 << 2;
    }
    void envelopeContainsTrueExtremesAtEveryLevel()
    {
        QFETCH(double, from);
        QFETCH(double, to);
        QFETCH(int, maxPoints);
        QFETCH(int, level);
        QString error;
        if (!m_envRun) {
            m_envSeries = makeSeries(300000, 7);
            m_envRun = storeSeries(m_envStore, m_envSeries, 4096, &error);
        }
        QVERIFY2(m_envRun, qPrintable(error));
        const std::vector<EnergySample> &s = m_envSeries;
        const auto series = m_envStore.readSeries(m_envRun, QStringLiteral("package-0"), from, to,
                                                  maxPoints, &error);
        QVERIFY2(series, qPrintable(error));
        QCOMPARE(series->level, level);
        QCOMPARE(series->kind, ValueKind::Measured);
        checkEnvelope(s, *series, from, to, maxPoints);
        if (from < 0) {
            // Covering the whole run, mean power x time adds up to the energy.
            double energy = 0;
            for (const PowerBucket &b : series->buckets)
                energy += b.meanW * (b.tEnd - b.tStart);
            const double total = s.back().joules - s.front().joules;
            QVERIFY2(qAbs(energy - total) < 1e-6 * total,
                     qPrintable(QStringLiteral("%1 vs %2").arg(energy).arg(total)));
        }
    }

    void emptyAndInvalidWindows()
    {
        Store store;
        QString error;
        const qint64 run = storeSeries(store, makeSeries(1000, 3), 4096, &error);
        QVERIFY2(run, qPrintable(error));
        const auto after = store.readSeries(run, QStringLiteral("package-0"), 100, 200, 10, &error);
        QVERIFY2(after, qPrintable(error));
        QVERIFY(after->buckets.isEmpty());
        QVERIFY(!store.readSeries(run, QStringLiteral("package-0"), 2, 1, 10, &error));
        QVERIFY2(error.contains(QStringLiteral("need t0 <= t1")), qPrintable(error));
        QVERIFY(!store.readSeries(run, QStringLiteral("package-0"), 0, 1, 0, &error));
        // A single sample has no interval and therefore no power.
        const auto ex = store.lastExperiment(&error);
        const auto run2 = store.createRun(ex->id, jbtest::key("k", 1), {}, {}, &error);
        auto writer = store.sampleWriter(*run2, &error);
        const auto ch =
            writer->addDomain({0, QStringLiteral("d"), ValueKind::Measured, {}}, &error);
        QVERIFY(writer->append(*ch, 1.0, 5.0));
        QVERIFY(writer->flush(&error));
        const auto one = store.readSeries(*run2, QStringLiteral("d"), -1e300, 1e300, 100, &error);
        QVERIFY2(one, qPrintable(error));
        QVERIFY(one->buckets.isEmpty());
        QCOMPARE(one->samplesInWindow, 1);
    }
};

QTEST_GUILESS_MAIN(TestDatabaseSamples)
#include "tst_database_samples.moc"
