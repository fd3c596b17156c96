// SPDX-License-Identifier: GPL-3.0-or-later
// Database benchmark: sample ingest, downsampled read of a 1 M-sample run and the comparison
// query in a database holding 10 M samples, each against its target and against the naive
// row-per-sample layout measured in the same run (machines are noisy: read the ratios).
//
//   bench_database [--dir DIR] [--scale F]
//
// --scale shrinks every size (e.g. 0.1 for a quick smoke run; targets then do not apply).
#include "database/sample_writer.h"
#include "database/store.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QTemporaryDir>

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <vector>

using namespace jb::db;

namespace {

double g_scale = 1.0;
qint64 scaled(qint64 n)
{
    return std::max<qint64>(1, static_cast<qint64>(static_cast<double>(n) * g_scale));
}

[[noreturn]] void die(const QString &what)
{
    std::fprintf(stderr, "bench_database: %s\n", qPrintable(what));
    std::exit(1);
}

/// Sampler-like series: t from integer nanoseconds, J from integer microjoules (RAPL), ~1 kHz
/// with jitter; or (offGrid) t and J summed in doubles, off any integer grid.
struct SeriesGen
{
    quint64 state = 88172645463325252ull;
    qint64 ns = 0, uj = 0;
    double t = 0, j = 0;
    bool offGrid = false;
    quint64 next()
    {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    }
    EnergySample sample()
    {
        const EnergySample s =
            offGrid ? EnergySample{t, j}
                    : EnergySample{static_cast<double>(ns) / 1e9, static_cast<double>(uj) / 1e6};
        const qint64 dt = 1000000 + static_cast<qint64>(next() % 20000) - 10000;
        const double watts = 20.0 + static_cast<double>(next() % 5000) / 1000.0;
        ns += dt;
        uj += static_cast<qint64>(watts * static_cast<double>(dt) / 1000.0);
        t += static_cast<double>(dt) * 1.0000001e-9;
        j += watts * static_cast<double>(dt) * 1e-9;
        return s;
    }
};

struct Db
{
    Store store;
    explicit Db(const QString &file)
    {
        QFile::remove(file);
        QString error;
        if (!store.open(file, Store::OpenMode::ReadWrite, &error))
            die(error);
    }
};

/// Creates a run with `domains` domains of `perDomain` samples each; returns its id.
qint64 ingestRun(Store &store, qint64 experiment, int repetition, int domains, qint64 perDomain,
                 bool offGrid, double *seconds = nullptr)
{
    QString error;
    RunKey key;
    key.variant = QStringLiteral("bench");
    key.backend = QStringLiteral("cpu");
    key.repetition = repetition;
    key.configKey = QStringLiteral("cfg-%1").arg(repetition % 10);
    const auto run = store.createRun(experiment, key, "{}", "{}", &error);
    if (!run)
        die(error);
    QElapsedTimer timer;
    timer.start();
    auto writer = store.sampleWriter(*run, &error);
    std::vector<int> channels;
    std::vector<SeriesGen> gens(static_cast<size_t>(domains));
    for (int d = 0; d < domains; ++d) {
        const auto ch = writer->addDomain(
            {0, QStringLiteral("package-%1").arg(d), ValueKind::Measured, QStringLiteral("rapl")},
            &error);
        if (!ch)
            die(error);
        channels.push_back(*ch);
        gens[static_cast<size_t>(d)].offGrid = offGrid;
        gens[static_cast<size_t>(d)].state += static_cast<quint64>(d) * 7919;
    }
    for (qint64 i = 0; i < perDomain; ++i)
        for (int d = 0; d < domains; ++d) {
            const EnergySample s = gens[static_cast<size_t>(d)].sample();
            if (!writer->append(channels[static_cast<size_t>(d)], s.t, s.joules, &error))
                die(error);
        }
    if (!writer->flush(&error))
        die(error);
    if (seconds)
        *seconds = static_cast<double>(timer.nsecsElapsed()) / 1e9;
    writer.reset();
    return *run;
}

// --- naive layout: one row per sample, raw SQLite with prepared statements -------------------

struct Naive
{
    sqlite3 *db = nullptr;
    explicit Naive(const QString &file)
    {
        QFile::remove(file);
        if (sqlite3_open(file.toUtf8().constData(), &db) != SQLITE_OK)
            die(QStringLiteral("cannot open %1").arg(file));
        exec("PRAGMA journal_mode = WAL");
        exec("PRAGMA synchronous = NORMAL");
        exec("CREATE TABLE sample (run_id INTEGER, domain TEXT, t REAL, j REAL)");
    }
    ~Naive() { sqlite3_close(db); }
    void exec(const char *sql)
    {
        char *msg = nullptr;
        if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK)
            die(QStringLiteral("naive: %1: %2")
                    .arg(QString::fromUtf8(sql), QString::fromUtf8(msg)));
    }
    /// Inserts samples, one transaction per 100 k rows; returns seconds.
    double ingest(qint64 run, int domains, qint64 perDomain)
    {
        QElapsedTimer timer;
        timer.start();
        sqlite3_stmt *st = nullptr;
        sqlite3_prepare_v2(db, "INSERT INTO sample VALUES (?, ?, ?, ?)", -1, &st, nullptr);
        std::vector<SeriesGen> gens(static_cast<size_t>(domains));
        std::vector<QByteArray> names;
        for (int d = 0; d < domains; ++d) {
            names.push_back(QByteArray("package-") + QByteArray::number(d));
            gens[static_cast<size_t>(d)].state += static_cast<quint64>(d) * 7919;
        }
        qint64 rows = 0;
        exec("BEGIN");
        for (qint64 i = 0; i < perDomain; ++i)
            for (int d = 0; d < domains; ++d) {
                const EnergySample s = gens[static_cast<size_t>(d)].sample();
                sqlite3_bind_int64(st, 1, run);
                sqlite3_bind_text(st, 2, names[static_cast<size_t>(d)].constData(), -1,
                                  SQLITE_STATIC);
                sqlite3_bind_double(st, 3, s.t);
                sqlite3_bind_double(st, 4, s.joules);
                if (sqlite3_step(st) != SQLITE_DONE)
                    die(QStringLiteral("naive insert failed"));
                sqlite3_reset(st);
                if (++rows % 100000 == 0) {
                    exec("COMMIT");
                    exec("BEGIN");
                }
            }
        exec("COMMIT");
        sqlite3_finalize(st);
        return static_cast<double>(timer.nsecsElapsed()) / 1e9;
    }
    /// Runs a query to completion; returns milliseconds and the row count.
    double query(const char *sql, qint64 bind, int *rowsOut = nullptr)
    {
        QElapsedTimer timer;
        timer.start();
        sqlite3_stmt *st = nullptr;
        if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK)
            die(QStringLiteral("naive query: %1").arg(QString::fromUtf8(sqlite3_errmsg(db))));
        sqlite3_bind_int64(st, 1, bind);
        int rows = 0;
        while (sqlite3_step(st) == SQLITE_ROW)
            ++rows;
        sqlite3_finalize(st);
        if (rowsOut)
            *rowsOut = rows;
        return static_cast<double>(timer.nsecsElapsed()) / 1e6;
    }
};

template <typename F> std::pair<double, double> medianAndMaxMs(int repeats, F &&f)
{
    std::vector<double> ms;
    for (int i = 0; i < repeats; ++i) {
        QElapsedTimer timer;
        timer.start();
        f();
        ms.push_back(static_cast<double>(timer.nsecsElapsed()) / 1e6);
    }
    std::sort(ms.begin(), ms.end());
    return {ms[ms.size() / 2], ms.back()};
}

const char *verdict(bool ok)
{
    return ok ? "MET" : "MISSED";
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("JouleBench database benchmark"));
    parser.addHelpOption();
    parser.addOption({QStringLiteral("dir"), QStringLiteral("Folder for the databases."),
                      QStringLiteral("dir")});
    parser.addOption({QStringLiteral("scale"),
                      QStringLiteral("Size factor (1 = the targets' sizes)."), QStringLiteral("f"),
                      QStringLiteral("1")});
    parser.process(app);
    g_scale = parser.value(QStringLiteral("scale")).toDouble();
    if (!(g_scale > 0))
        die(QStringLiteral("--scale must be positive"));
    QTemporaryDir tmp;
    const QString dir =
        parser.isSet(QStringLiteral("dir")) ? parser.value(QStringLiteral("dir")) : tmp.path();
    QDir().mkpath(dir);
    const bool full = g_scale == 1.0;
    std::printf("JouleBench database benchmark (SQLite %s, scale %g, dir %s)\n",
                sqlite3_libversion(), g_scale, qPrintable(dir));
    if (!full)
        std::printf("NOTE: scaled run; the targets apply to --scale 1 only\n");
    QString error;

    // 1. Ingest ---------------------------------------------------------------------------------
    {
        const qint64 perDomain = scaled(1250000); // 4 domains -> 5 M samples
        double seconds[2] = {0, 0}, bytes[2] = {0, 0};
        for (int offGrid = 0; offGrid < 2; ++offGrid) {
            const QString file = dir + QStringLiteral("/ingest-%1.sqlite").arg(offGrid);
            Db db(file);
            const auto exp = db.store.createExperiment(QStringLiteral("ingest"), "{}",
                                                       QStringLiteral("ingest"), &error);
            ingestRun(db.store, *exp, 0, 4, perDomain, offGrid == 1, &seconds[offGrid]);
            db.store.close();
            bytes[offGrid] = static_cast<double>(QFileInfo(file).size());
        }
        const double total = 4.0 * static_cast<double>(perDomain);
        const double gridRate = total / seconds[0], rawRate = total / seconds[1];

        const qint64 naivePerDomain = scaled(250000); // 1 M rows
        Naive naive(dir + QStringLiteral("/naive-ingest.sqlite"));
        const double naiveS = naive.ingest(1, 4, naivePerDomain);
        naive.exec("PRAGMA wal_checkpoint(TRUNCATE)"); // all rows in the file, for its size
        const double naiveRate = 4.0 * static_cast<double>(naivePerDomain) / naiveS;
        std::printf("\n[1] ingest (4 domains, %.1f M samples per layout)\n", total / 1e6);
        std::printf("    chunked, sampler-like values (ns/uJ grid): %10.2f M samples/s  "
                    "target >= 5.00 M/s  %s\n",
                    gridRate / 1e6, verdict(gridRate >= 5e6));
        std::printf("    chunked, off-grid doubles (summed t, J):   %10.2f M samples/s\n",
                    rawRate / 1e6);
        std::printf("    naive row per sample (sqlite3 C API):      %10.2f M samples/s  "
                    "(%.1f M rows)\n",
                    naiveRate / 1e6, 4.0 * static_cast<double>(naivePerDomain) / 1e6);
        std::printf(
            "    ratio chunked/naive: %.1fx (grid), %.1fx (off-grid); file size %.2f "
            "bytes/sample (grid), %.2f (off-grid), %.2f (naive)\n",
            gridRate / naiveRate, rawRate / naiveRate, bytes[0] / total, bytes[1] / total,
            static_cast<double>(QFileInfo(dir + QStringLiteral("/naive-ingest.sqlite")).size()) /
                (4.0 * static_cast<double>(naivePerDomain)));
    }

    // 2. Downsampled read of a 1 M-sample run ---------------------------------------------------
    {
        const qint64 n = scaled(1000000);
        Db db(dir + QStringLiteral("/series.sqlite"));
        const auto exp = db.store.createExperiment(QStringLiteral("series"), "{}",
                                                   QStringLiteral("series"), &error);
        const qint64 run = ingestRun(db.store, *exp, 0, 1, n, false);
        db.store.close();
        Store store;
        if (!store.open(dir + QStringLiteral("/series.sqlite"), Store::OpenMode::ReadOnly, &error))
            die(error);
        const QString domain = QStringLiteral("package-0");
        PowerSeries last;
        const auto read = [&](double t0, double t1, int points) {
            auto s = store.readSeries(run, domain, t0, t1, points, &error);
            if (!s)
                die(error);
            last = *s;
        };
        QElapsedTimer first;
        first.start();
        read(-1e300, 1e300, 4000);
        const double firstMs = static_cast<double>(first.nsecsElapsed()) / 1e6;
        const auto [fullMed, fullMax] = medianAndMaxMs(21, [&] { read(-1e300, 1e300, 4000); });
        const PowerSeries full = last;
        const double end = full.buckets.isEmpty() ? 1.0 : full.buckets.last().tEnd;
        const auto [z10Med, z10Max] =
            medianAndMaxMs(21, [&] { read(end * 0.45, end * 0.55, 4000); });
        const int z10Level = last.level;
        const auto [z1Med, z1Max] = medianAndMaxMs(21, [&] { read(end * 0.5, end * 0.51, 4000); });
        const int z1Level = last.level;
        const auto rawS = medianAndMaxMs(5, [&] {
            if (!store.readRaw(run, domain, -1e300, 1e300, &error))
                die(error);
        });

        Naive naive(dir + QStringLiteral("/naive-series.sqlite"));
        naive.ingest(1, 1, n);
        naive.exec("CREATE INDEX sample_run ON sample(run_id, domain, t)");
        // Power from consecutive rows (window function), min/max per time bucket.
        const QByteArray sql =
            "SELECT b, MIN(p), MAX(p) FROM (SELECT CAST(t * 4000.0 / " +
            QByteArray::number(end, 'g', 17) +
            " AS INTEGER) AS b, (j - LAG(j) OVER w) / (t - LAG(t) OVER w) AS p FROM sample "
            "WHERE run_id = ? AND domain = 'package-0' WINDOW w AS (ORDER BY t)) GROUP BY b";
        int naiveRows = 0;
        const auto [naiveMed, naiveMax] =
            medianAndMaxMs(3, [&] { naive.query(sql.constData(), 1, &naiveRows); });
        std::printf("\n[2] downsampled power series of a %.2f M-sample run, 4000 points\n",
                    static_cast<double>(n) / 1e6);
        std::printf("    whole run: median %7.2f ms (max %.2f, first %.2f), level %d, %lld "
                    "buckets  target < 20 ms  %s\n",
                    fullMed, fullMax, firstMs, full.level,
                    static_cast<long long>(full.buckets.size()), verdict(fullMed < 20));
        std::printf("    zoom 10%%:  median %7.2f ms (max %.2f), level %d\n", z10Med, z10Max,
                    z10Level);
        std::printf("    zoom 1%%:   median %7.2f ms (max %.2f), level %d\n", z1Med, z1Max,
                    z1Level);
        std::printf("    all raw samples decoded (readRaw): median %.2f ms\n", rawS.first);
        std::printf("    naive row per sample (LAG + GROUP BY, indexed): median %.2f ms "
                    "(%d buckets)\n",
                    naiveMed, naiveRows);
        std::printf("    ratio naive/chunked (whole run): %.0fx\n", naiveMed / fullMed);
    }

    // 3. Comparison query in a database with 10 M samples ---------------------------------------
    {
        // 10 experiments x 10 runs x 2 domains x 50 k samples = 10 M samples.
        const qint64 perDomain = scaled(50000);
        Db db(dir + QStringLiteral("/compare.sqlite"));
        qint64 target = 0;
        QElapsedTimer build;
        build.start();
        for (int e = 0; e < 10; ++e) {
            const auto exp = db.store.createExperiment(QStringLiteral("exp-%1").arg(e), "{}",
                                                       QStringLiteral("plan-%1").arg(e), &error);
            if (e == 4)
                target = *exp;
            for (int r = 0; r < 10; ++r) {
                const qint64 run = ingestRun(db.store, *exp, r, 2, perDomain, false);
                const char *names[] = {"baseline", "prepare", "evaluate", "inference"};
                for (int p = 0; p < 4; ++p) {
                    PhaseRecord ph{0,
                                   QString::fromLatin1(names[p]),
                                   p,
                                   p * 12.0,
                                   12.0,
                                   {{QStringLiteral("package-0"), 240.0 + p, 120.0 + p,
                                     ValueKind::Measured, 20.0},
                                    {QStringLiteral("package-1"), 230.0 + p, 110.0 + p,
                                     ValueKind::Measured, 19.0}}};
                    if (!db.store.addPhase(run, ph, &error))
                        die(error);
                }
                for (const char *m : {"accuracy", "latency_p50", "latency_p95", "params", "macs",
                                      "energy_per_inference"})
                    db.store.setMetric(run, {}, QString::fromLatin1(m), 1.0, {},
                                       ValueKind::Computed, &error);
                if (!db.store.finishRun(run, RunStatus::Completed, {}, {}, &error))
                    die(error);
            }
        }
        const double buildS = static_cast<double>(build.nsecsElapsed()) / 1e9;
        db.store.close();
        const qint64 samples = 10LL * 10 * 2 * perDomain;
        Store store;
        if (!store.open(dir + QStringLiteral("/compare.sqlite"), Store::OpenMode::ReadOnly, &error))
            die(error);
        QElapsedTimer first;
        first.start();
        auto cmp = store.comparison(target, &error);
        if (!cmp)
            die(error);
        const double firstMs = static_cast<double>(first.nsecsElapsed()) / 1e6;
        const auto [med, max] = medianAndMaxMs(21, [&] {
            if (!store.comparison(target, &error))
                die(error);
        });

        // Naive: aggregates computed from the experiment's sample rows at query time.
        Naive naive(dir + QStringLiteral("/naive-compare.sqlite"));
        const qint64 naivePerDomain = scaled(50000);
        QElapsedTimer naiveBuild;
        naiveBuild.start();
        for (int run = 1; run <= 100; ++run)
            naive.ingest(run, 2, naivePerDomain);
        naive.exec("CREATE INDEX sample_run ON sample(run_id)");
        const double naiveBuildS = static_cast<double>(naiveBuild.nsecsElapsed()) / 1e9;
        int naiveRows = 0;
        const auto [naiveMed, naiveMax] = medianAndMaxMs(3, [&] {
            naive.query("SELECT run_id, domain, COUNT(*), MAX(j) - MIN(j), MAX(t) - MIN(t) FROM "
                        "sample WHERE run_id BETWEEN ?1 AND ?1 + 9 GROUP BY run_id, domain",
                        41, &naiveRows);
        });
        std::printf("\n[3] comparison query of one experiment (10 runs x 4 phases x 2 domains, "
                    "6 metrics each) in a database of %.1f M samples (built in %.1f s)\n",
                    static_cast<double>(samples) / 1e6, buildS);
        std::printf("    from stored aggregates: median %7.2f ms (max %.2f, first %.2f), %lld "
                    "runs  target < 50 ms  %s\n",
                    med, max, firstMs, static_cast<long long>(cmp->runs.size()), verdict(med < 50));
        std::printf("    naive: totals per run and domain by scanning the experiment's sample "
                    "rows: median %.2f ms (%d groups; table of %.1f M rows built in %.1f s)\n",
                    naiveMed, naiveRows, static_cast<double>(100 * 2 * naivePerDomain) / 1e6,
                    naiveBuildS);
        std::printf("    ratio naive/stored: %.0fx\n", naiveMed / med);
    }
    return 0;
}
