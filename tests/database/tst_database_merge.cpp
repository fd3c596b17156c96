// SPDX-License-Identifier: GPL-3.0-or-later
// Merging shard databases: no duplicates, samples copied bit-exactly, inputs untouched,
// completed runs replace unfinished copies, live runs are not merged.
#include "db_test_util.h"

#include "database/merge.h"
#include "database/sample_writer.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace jb::db;
using jbtest::RawDb;

class TestDatabaseMerge : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString path(const QString &name) const { return m_dir.filePath(name); }

    struct RunSpec
    {
        QString config;
        int repetition;
        RunStatus status;
        int samples;
    };

    /// A shard of plan "plan-A" with the given runs, each with samples, a phase and a metric.
    QString makeShard(const QString &name, const QList<RunSpec> &runs,
                      const QString &planHash = QStringLiteral("plan-A"))
    {
        const QString file = path(name);
        Store store;
        QString error;
        if (!store.open(file, Store::OpenMode::ReadWrite, &error)) {
            qWarning() << error;
            return {};
        }
        const auto exp =
            store.createExperiment(QStringLiteral("grid"), "{\"grid\":true}", planHash, &error);
        for (const RunSpec &spec : runs) {
            const auto run = store.createRun(*exp, jbtest::key(spec.config, spec.repetition), "{}",
                                             "{}", &error);
            auto writer = store.sampleWriter(*run, &error);
            const auto ch = writer->addDomain(
                {0, QStringLiteral("package-0"), ValueKind::Measured, QStringLiteral("rapl")},
                &error);
            for (int i = 0; i < spec.samples; ++i)
                writer->append(*ch, i / 1000.0, i * (spec.repetition + 1) / 100.0);
            writer->flush(&error);
            writer.reset();
            PhaseRecord p{0,   QStringLiteral("inference"),
                          0,   0.0,
                          1.0, {{QStringLiteral("package-0"), 5.0, 4.0, ValueKind::Measured, 5.0}}};
            store.addPhase(*run, p, &error);
            store.setMetric(*run, {}, QStringLiteral("accuracy"), 0.5 + spec.repetition / 10.0, {},
                            ValueKind::Computed, &error);
            store.addTechniqueLog(*run, QStringLiteral("prune"), spec.config, "{}", &error);
            if (spec.status != RunStatus::Running &&
                !store.finishRun(*run, spec.status, {}, {}, &error))
                qWarning() << error;
        }
        return file;
    }

    static QList<QPair<QString, QString>> runsOf(const QString &file)
    {
        RawDb db(file);
        QList<QPair<QString, QString>> out;
        for (const QString &row :
             db.column(QStringLiteral("SELECT config_key || '#' || repetition || ' ' || status "
                                      "FROM run ORDER BY config_key, repetition, id")))
            out.append({row.section(u' ', 0, 0), row.section(u' ', 1)});
        return out;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void mergesShardsWithoutDuplicates()
    {
        const QString a =
            makeShard(QStringLiteral("a.sqlite"), {{"k1", 0, RunStatus::Completed, 9000},
                                                   {"k1", 1, RunStatus::Completed, 5000}});
        const QString b =
            makeShard(QStringLiteral("b.sqlite"), {{"k1", 1, RunStatus::Completed, 5000},
                                                   {"k2", 0, RunStatus::Completed, 7000}});
        const QByteArray aBytes = jbtest::fileBytes(a), bBytes = jbtest::fileBytes(b);
        const QString out = path(QStringLiteral("merged.sqlite"));
        QString error;
        const auto counts = mergeDatabases(out, {a, b}, &error);
        QVERIFY2(counts, qPrintable(error));
        QCOMPARE(counts->inputs, 2);
        QCOMPARE(counts->experimentsAdded, 1);
        QCOMPARE(counts->runsAdded, 3);
        QCOMPARE(counts->runsSkippedDuplicate, 1);
        QCOMPARE(counts->samplesCopied, 9000 + 5000 + 7000);
        QCOMPARE(counts->chunksCopied, 3 + 2 + 2);
        // Inputs are never modified.
        QCOMPARE(jbtest::fileBytes(a), aBytes);
        QCOMPARE(jbtest::fileBytes(b), bBytes);

        Store store;
        QVERIFY2(store.open(out, Store::OpenMode::ReadOnly, &error), qPrintable(error));
        const auto exps = store.listExperiments(&error);
        QCOMPARE(exps->size(), 1);
        const auto cmp = store.comparison(exps->at(0).id, &error);
        QVERIFY2(cmp, qPrintable(error));
        QCOMPARE(cmp->runs.size(), 3);
        for (const RunComparison &rc : cmp->runs) {
            QCOMPARE(rc.run.status, RunStatus::Completed);
            QCOMPARE(rc.phases.size(), 1);
            QCOMPARE(rc.phases[0].energy.size(), 1);
            QCOMPARE(rc.metrics.size(), 1);
            QCOMPARE(rc.totals.size(), 1);
            QCOMPARE(store.techniqueLogs(rc.run.id, &error)->size(), 1);
        }
        // Samples are identical to the shard's.
        const RunComparison &k2 = cmp->runs[2];
        QCOMPARE(k2.run.key.configKey, QStringLiteral("k2"));
        QCOMPARE(k2.totals[0].samples, 7000);
        const auto merged = store.readRaw(k2.run.id, QStringLiteral("package-0"), -1, 1e9, &error);
        QVERIFY2(merged, qPrintable(error));
        Store shard;
        QVERIFY(shard.open(b, Store::OpenMode::ReadOnly, &error));
        const auto shardRuns = shard.listRuns(shard.lastExperiment(&error)->id, &error);
        const auto original =
            shard.readRaw(shardRuns->at(1).id, QStringLiteral("package-0"), -1, 1e9, &error);
        QCOMPARE(*merged, *original);
        store.close();
        shard.close();

        // Merging again adds nothing.
        const auto again = mergeDatabases(out, {a, b}, &error);
        QVERIFY2(again, qPrintable(error));
        QCOMPARE(again->runsAdded, 0);
        QCOMPARE(again->experimentsAdded, 0);
        QCOMPARE(again->runsSkippedDuplicate, 4);
        QCOMPARE(runsOf(out).size(), 3);
        RawDb raw(out);
        QCOMPARE(raw.value(QStringLiteral("SELECT SUM(n) FROM sample_chunk")).toInt(), 21000);
    }

    void completedRunReplacesUnfinishedCopy()
    {
        const QString failed =
            makeShard(QStringLiteral("failed.sqlite"),
                      {{"k", 0, RunStatus::Failed, 100}, {"k", 1, RunStatus::Completed, 100}});
        const QString retried =
            makeShard(QStringLiteral("retried.sqlite"),
                      {{"k", 0, RunStatus::Completed, 200}, {"k", 1, RunStatus::Failed, 100}});
        const QString out = path(QStringLiteral("replaced.sqlite"));
        QString error;
        const auto counts = mergeDatabases(out, {failed, retried}, &error);
        QVERIFY2(counts, qPrintable(error));
        QCOMPARE(counts->runsAdded, 2);
        QCOMPARE(counts->runsReplaced, 1);
        QCOMPARE(counts->runsSkippedDuplicate, 1);
        const auto runs = runsOf(out);
        QCOMPARE(runs.size(), 2);
        QCOMPARE(runs[0], qMakePair(QStringLiteral("k#0"), QStringLiteral("completed")));
        QCOMPARE(runs[1], qMakePair(QStringLiteral("k#1"), QStringLiteral("completed")));
        RawDb raw(out);
        // The replaced run's rows went with it (foreign keys cascade).
        QCOMPARE(raw.value(QStringLiteral("SELECT SUM(n) FROM sample_chunk")).toInt(), 300);
        QCOMPARE(raw.value(QStringLiteral("SELECT COUNT(*) FROM phase")).toInt(), 2);
        QVERIFY(raw.column(QStringLiteral("PRAGMA foreign_key_check")).isEmpty());
    }

    void differentPlansStaySeparateExperiments()
    {
        const QString a = makeShard(QStringLiteral("pa.sqlite"),
                                    {{"k", 0, RunStatus::Completed, 10}}, QStringLiteral("plan-X"));
        const QString b = makeShard(QStringLiteral("pb.sqlite"),
                                    {{"k", 0, RunStatus::Completed, 10}}, QStringLiteral("plan-Y"));
        QString error;
        const auto counts = mergeDatabases(path(QStringLiteral("plans.sqlite")), {a, b}, &error);
        QVERIFY2(counts, qPrintable(error));
        QCOMPARE(counts->experimentsAdded, 2);
        QCOMPARE(counts->runsAdded, 2);
    }

    void liveRunsAreSkippedDeadOnesCopiedAsInterrupted()
    {
        // This process owns the running run: alive, so it is not merged.
        const QString live =
            makeShard(QStringLiteral("live.sqlite"),
                      {{"k", 0, RunStatus::Running, 50}, {"k", 1, RunStatus::Completed, 50}});
        const QString out = path(QStringLiteral("live-out.sqlite"));
        QString error;
        auto counts = mergeDatabases(out, {live}, &error);
        QVERIFY2(counts, qPrintable(error));
        QCOMPARE(counts->runsAdded, 1);
        QCOMPARE(counts->runsSkippedRunning, 1);
        QCOMPARE(counts->notes.size(), 1);
        QVERIFY2(counts->notes[0].contains(QStringLiteral("still running")),
                 qPrintable(counts->notes[0]));

        // The same run with a dead owner (another start token) is copied as interrupted,
        // with aggregates computed from its samples.
        {
            RawDb raw(live);
            QVERIFY(raw.exec(QStringLiteral("UPDATE run SET owner_token = 'gone/1' WHERE "
                                            "status = 'running'")));
        }
        counts = mergeDatabases(out, {live}, &error);
        QVERIFY2(counts, qPrintable(error));
        QCOMPARE(counts->runsAdded, 1);
        QCOMPARE(counts->runsInterrupted, 1);
        RawDb raw(out);
        QCOMPARE(
            raw.value(QStringLiteral("SELECT status FROM run WHERE repetition = 0")).toString(),
            QStringLiteral("interrupted"));
        QCOMPARE(raw.value(QStringLiteral("SELECT e.samples FROM run_energy e JOIN run_domain d "
                                          "ON d.id = e.domain_id JOIN run r ON r.id = d.run_id "
                                          "WHERE r.repetition = 0"))
                     .toInt(),
                 50);
    }

    void reusedFromRunIsRenumbered()
    {
        const QString a = makeShard(QStringLiteral("reuse-a.sqlite"),
                                    {{QStringLiteral("base"), 0, RunStatus::Completed, 10},
                                     {QStringLiteral("base"), 1, RunStatus::Completed, 10}},
                                    QStringLiteral("plan-R"));
        const QString b = makeShard(QStringLiteral("reuse-b.sqlite"),
                                    {{QStringLiteral("other"), 0, RunStatus::Completed, 10}},
                                    QStringLiteral("plan-R"));
        QString error;
        {
            Store s;
            QVERIFY(s.open(a, Store::OpenMode::ReadWrite, &error));
            QVERIFY(s.setMetric(2, QStringLiteral("train"), QStringLiteral("reused_from_run"), 1,
                                {}, ValueKind::Computed, &error));
        }
        // b first: a's runs 1 and 2 become 2 and 3 in OUT.
        QVERIFY2(mergeDatabases(path(QStringLiteral("reuse-out.sqlite")), {b, a}, &error),
                 qPrintable(error));
        RawDb out(path(QStringLiteral("reuse-out.sqlite")));
        QCOMPARE(out.value(QStringLiteral("SELECT config_key || '#' || repetition FROM run "
                                          "WHERE id = 2"))
                     .toString(),
                 QStringLiteral("base#0"));
        QCOMPARE(out.value(QStringLiteral("SELECT value FROM metric WHERE run_id = 3 AND name = "
                                          "'reused_from_run'"))
                     .toDouble(),
                 2.0);
        // Merged again: the duplicate is skipped, the stored number stays right.
        QVERIFY(mergeDatabases(path(QStringLiteral("reuse-out.sqlite")), {a}, &error));
        QCOMPARE(out.value(QStringLiteral("SELECT value FROM metric WHERE run_id = 3 AND name = "
                                          "'reused_from_run'"))
                     .toDouble(),
                 2.0);
    }

    void badInputsGiveClearErrors()
    {
        const QString a =
            makeShard(QStringLiteral("self.sqlite"), {{"k", 0, RunStatus::Completed, 10}});
        QString error;
        QVERIFY(!mergeDatabases(a, {a}, &error));
        QVERIFY2(error.contains(QStringLiteral("into itself")), qPrintable(error));
        const QString garbage = path(QStringLiteral("garbage.bin"));
        QFile f(garbage);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("not a database at all, just text");
        f.close();
        const QString out = path(QStringLiteral("bad-out.sqlite"));
        QVERIFY(!mergeDatabases(out, {a, garbage}, &error));
        QVERIFY2(error.startsWith(QStringLiteral("cannot merge: ") + garbage), qPrintable(error));
        QVERIFY(!mergeDatabases(out, {path(QStringLiteral("nope.sqlite"))}, &error));
        QVERIFY2(error.contains(QStringLiteral("does not exist")), qPrintable(error));
        QVERIFY(!mergeDatabases(out, {}, &error));
        QVERIFY2(error.contains(QStringLiteral("at least one input")), qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestDatabaseMerge)
#include "tst_database_merge.moc"
