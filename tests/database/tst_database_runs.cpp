// SPDX-License-Identifier: GPL-3.0-or-later
// Run life cycle, interrupted runs after a SIGKILLed owner process, per-run results and the
// comparison query.
#include "db_test_util.h"

#include "database/process_identity.h"
#include "database/sample_writer.h"

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <cstdio>
#include <unistd.h>

using namespace jb::db;
using jbtest::RawDb;

namespace {

const char *const ChildFlag = "--child-running-run";

/// Child mode: creates a running run with samples in the given database, reports its id on
/// stdout and waits to be killed.
int childMain(const QString &file)
{
    Store store;
    QString error;
    if (!store.open(file, Store::OpenMode::ReadWrite, &error)) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    const auto exp =
        store.createExperiment(QStringLiteral("child"), "{}", QStringLiteral("child-hash"), &error);
    const auto run =
        exp ? store.createRun(*exp, jbtest::key(QStringLiteral("c"), 0), "{}", "{}", &error)
            : std::nullopt;
    if (!run) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    auto writer = store.sampleWriter(*run, &error);
    const auto ch = writer ? writer->addDomain({0, QStringLiteral("package-0"), ValueKind::Measured,
                                                QStringLiteral("rapl")},
                                               &error)
                           : std::nullopt;
    if (!ch) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    for (int i = 0; i <= 1000; ++i)
        writer->append(*ch, i * 0.01, i * 0.25); // 25 W
    if (!writer->flush(&error)) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 1;
    }
    std::printf("ready %lld\n", static_cast<long long>(*run));
    std::fflush(stdout);
    for (;;)
        ::pause();
}

} // namespace

class TestDatabaseRuns : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    int m_files = 0;

    QString newFile() { return m_dir.filePath(QStringLiteral("runs-%1.sqlite").arg(++m_files)); }

    static qint64 makeExperiment(Store &store, const QString &hash = QStringLiteral("h1"))
    {
        QString error;
        const auto id = store.createExperiment(QStringLiteral("exp"), "{\"plan\":1}", hash, &error);
        if (!id)
            qWarning() << error;
        return id.value_or(0);
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void experimentsCanBeListedAndLookedUp()
    {
        Store store;
        QString error;
        QVERIFY2(store.open(newFile(), Store::OpenMode::ReadWrite, &error), qPrintable(error));
        QVERIFY(!store.lastExperiment(&error));
        QVERIFY2(error.contains(QStringLiteral("no experiment yet")), qPrintable(error));
        const qint64 a = makeExperiment(store, QStringLiteral("ha"));
        const qint64 b = makeExperiment(store, QStringLiteral("hb"));
        QVERIFY(a > 0 && b > a);
        QCOMPARE(store.lastExperiment(&error)->id, b);
        QCOMPARE(store.experiment(a, &error)->planHash, QStringLiteral("ha"));
        QCOMPARE(store.experiment(a, &error)->planJson, QByteArray("{\"plan\":1}"));
        QCOMPARE(store.listExperiments(&error)->size(), 2);
        QCOMPARE(store.experimentsByPlanHash(QStringLiteral("hb"), &error)->size(), 1);
        QCOMPARE(store.experimentsByPlanHash(QStringLiteral("zz"), &error)->size(), 0);
        QVERIFY(!store.experiment(99, &error));
        QVERIFY2(error.contains(QStringLiteral("no experiment 99")), qPrintable(error));
    }

    void statusLifeCycle()
    {
        Store store;
        QString error;
        QVERIFY2(store.open(newFile(), Store::OpenMode::ReadWrite, &error), qPrintable(error));
        const qint64 exp = makeExperiment(store);
        RunKey k = jbtest::key(QStringLiteral("cfg"), 0);
        k.chainJson = QByteArrayLiteral("[{\"id\":\"prune\"}]");
        const auto r1 = store.createRun(exp, k, "{\"batch\":8}", "{\"cpu\":\"x\"}", &error);
        QVERIFY2(r1, qPrintable(error));
        auto rec = store.run(*r1, &error);
        QVERIFY2(rec, qPrintable(error));
        QCOMPARE(rec->status, RunStatus::Running);
        QCOMPARE(rec->key.chainJson, k.chainJson);
        QCOMPARE(rec->configJson, QByteArray("{\"batch\":8}"));
        QCOMPARE(rec->owner.pid, static_cast<qint64>(::getpid()));
        QCOMPARE(rec->owner.host, ProcessIdentity::hostName());
        QVERIFY(!rec->owner.token.isEmpty());
        QVERIFY(rec->ended.isEmpty());

        QVERIFY(!store.finishRun(*r1, RunStatus::Running, {}, {}, &error));
        const QStringList flags{QStringLiteral("thermal-throttle"), QStringLiteral("noisy")};
        QVERIFY2(store.finishRun(*r1, RunStatus::Completed, flags, QString(), &error),
                 qPrintable(error));
        rec = store.run(*r1, &error);
        QCOMPARE(rec->status, RunStatus::Completed);
        QCOMPARE(rec->flags, flags);
        QVERIFY(!rec->ended.isEmpty());

        // A run ends once.
        QVERIFY(!store.finishRun(*r1, RunStatus::Failed, {}, QStringLiteral("x"), &error));
        QVERIFY2(error.contains(QStringLiteral("is already completed")), qPrintable(error));
        QVERIFY(!store.setRunStatus(*r1, RunStatus::Cancelled, &error));
        QCOMPARE(store.run(*r1, &error)->status, RunStatus::Completed);

        const auto r2 = store.createRun(exp, jbtest::key(QStringLiteral("cfg"), 1), {}, {}, &error);
        QVERIFY2(
            store.finishRun(*r2, RunStatus::Failed, {}, QStringLiteral("out of memory"), &error),
            qPrintable(error));
        QCOMPARE(store.run(*r2, &error)->error, QStringLiteral("out of memory"));
        const auto r3 =
            store.createRun(exp, jbtest::key(QStringLiteral("cfg2"), 0), {}, {}, &error);
        QVERIFY2(store.setRunStatus(*r3, RunStatus::Cancelled, &error), qPrintable(error));
        QCOMPARE(store.run(*r3, &error)->status, RunStatus::Cancelled);

        const auto keys = store.completedRunKeys(exp, &error);
        QVERIFY2(keys, qPrintable(error));
        QCOMPARE(keys->size(), 1);
        QCOMPARE(keys->at(0).configKey, QStringLiteral("cfg"));
        QCOMPARE(keys->at(0).repetition, 0);
        QCOMPARE(store.listRuns(exp, &error)->size(), 3);

        QVERIFY(!store.createRun(12345, k, {}, {}, &error));
        QVERIFY2(error.contains(QStringLiteral("no experiment 12345")), qPrintable(error));
        QVERIFY(!store.run(777, &error));
        QVERIFY2(error.contains(QStringLiteral("no run 777")), qPrintable(error));
    }

    void ownerLivenessUsesPidHostAndStartToken()
    {
        const RunOwner me = ProcessIdentity::current();
        QCOMPARE(ProcessIdentity::liveness(me), ProcessIdentity::Liveness::Alive);
        RunOwner reused = me;
        reused.token = QStringLiteral("another-boot/123");
        QCOMPARE(ProcessIdentity::liveness(reused), ProcessIdentity::Liveness::Dead);
        RunOwner elsewhere = me;
        elsewhere.host = QStringLiteral("some-other-host.invalid");
        QCOMPARE(ProcessIdentity::liveness(elsewhere), ProcessIdentity::Liveness::Unknown);
        RunOwner gone = me;
        gone.pid = 0x3ffffff0; // above pid_max
        QCOMPARE(ProcessIdentity::liveness(gone), ProcessIdentity::Liveness::Dead);
    }

    void killedOwnerMakesRunInterrupted()
    {
        const QString file = newFile();
        QProcess child;
        child.start(QCoreApplication::applicationFilePath(),
                    {QString::fromLatin1(ChildFlag), file});
        QVERIFY(child.waitForStarted(10000));
        QByteArray line;
        while (!line.contains('\n') && child.state() == QProcess::Running) {
            child.waitForReadyRead(10000);
            line += child.readAllStandardOutput();
        }
        QVERIFY2(line.startsWith("ready "), child.readAllStandardError().constData());
        const qint64 runId = line.mid(6).trimmed().toLongLong();
        QString error;

        // Owner alive: a read-write open leaves the run running.
        {
            Store store;
            QVERIFY2(store.open(file, Store::OpenMode::ReadWrite, &error), qPrintable(error));
            QCOMPARE(store.recoveredAtOpen(), 0);
            const auto r = store.run(runId, &error);
            QVERIFY2(r, qPrintable(error));
            QCOMPARE(r->status, RunStatus::Running);
            QCOMPARE(r->owner.pid, child.processId());
        }

        ::kill(static_cast<pid_t>(child.processId()), SIGKILL);
        QVERIFY(child.waitForFinished(10000));
        QCOMPARE(child.exitStatus(), QProcess::CrashExit);

        // A viewer shows it as interrupted but writes nothing.
        {
            const QByteArray before = jbtest::fileBytes(file);
            Store viewer;
            QVERIFY2(viewer.open(file, Store::OpenMode::ReadOnly, &error), qPrintable(error));
            const auto r = viewer.run(runId, &error);
            QVERIFY2(r, qPrintable(error));
            QCOMPARE(r->status, RunStatus::Interrupted);
            QVERIFY(r->statusDerived);
            QVERIFY2(r->error.contains(QStringLiteral("pid %1").arg(r->owner.pid)),
                     qPrintable(r->error));
            viewer.close();
            QCOMPARE(jbtest::fileBytes(file), before);
            RawDb raw(file);
            QCOMPARE(raw.value(QStringLiteral("SELECT status FROM run")).toString(),
                     QStringLiteral("running"));
        }

        // A read-write open records it, with aggregates from the samples the child stored.
        Store store;
        QVERIFY2(store.open(file, Store::OpenMode::ReadWrite, &error), qPrintable(error));
        QCOMPARE(store.recoveredAtOpen(), 1);
        const auto r = store.run(runId, &error);
        QCOMPARE(r->status, RunStatus::Interrupted);
        QVERIFY(!r->statusDerived);
        QVERIFY(!r->ended.isEmpty());
        QVERIFY2(r->error.contains(QStringLiteral("ended without finishing")),
                 qPrintable(r->error));
        const auto totals = store.runEnergy(runId, &error);
        QVERIFY2(totals, qPrintable(error));
        QCOMPARE(totals->size(), 1);
        QCOMPARE(totals->at(0).samples, 1001);
        QCOMPARE(totals->at(0).joules, 250.0);
        QVERIFY(qAbs(totals->at(0).avgPowerW - 25.0) < 1e-9);
        // And it stays interrupted: never completed later.
        QVERIFY(!store.finishRun(runId, RunStatus::Completed, {}, {}, &error));
        QCOMPARE(store.recoveredAtOpen(), 1);
    }

    void reusedPidIsNotMistakenForTheOwner()
    {
        const QString file = newFile();
        Store store;
        QString error;
        QVERIFY2(store.open(file, Store::OpenMode::ReadWrite, &error), qPrintable(error));
        const auto run =
            store.createRun(makeExperiment(store), jbtest::key("k", 0), {}, {}, &error);
        QVERIFY2(run, qPrintable(error));
        const auto other =
            store.createRun(store.lastExperiment(&error)->id, jbtest::key("k", 1), {}, {}, &error);
        store.close();
        {
            RawDb raw(file);
            // Same pid (ours, alive) but another start token: the owner died, the pid was reused.
            QVERIFY(raw.exec(
                QStringLiteral("UPDATE run SET owner_token = 'x/1' WHERE id = %1").arg(*run)));
            // Another host: cannot be decided here, stays running.
            QVERIFY(raw.exec(QStringLiteral("UPDATE run SET owner_host = 'elsewhere.invalid' "
                                            "WHERE id = %1")
                                 .arg(*other)));
        }
        QVERIFY2(store.open(file, Store::OpenMode::ReadWrite, &error), qPrintable(error));
        QCOMPARE(store.recoveredAtOpen(), 1);
        QCOMPARE(store.run(*run, &error)->status, RunStatus::Interrupted);
        QCOMPARE(store.run(*other, &error)->status, RunStatus::Running);
    }

    void resultsRoundTrip()
    {
        Store store;
        QString error;
        QVERIFY2(store.open(newFile(), Store::OpenMode::ReadWrite, &error), qPrintable(error));
        const auto run =
            store.createRun(makeExperiment(store), jbtest::key("k", 0), {}, {}, &error);
        QVERIFY2(run, qPrintable(error));
        PhaseRecord p;
        p.name = QStringLiteral("inference");
        p.ordinal = 2;
        p.tStart = 3.5;
        p.duration = 10.25;
        p.energy = {{QStringLiteral("package-0"), 120.5, 80.25, ValueKind::Measured, 11.75},
                    {QStringLiteral("cpu"), 99.0, 60.0, ValueKind::Estimate, 9.0}};
        QVERIFY2(store.addPhase(*run, p, &error), qPrintable(error));
        QVERIFY(!store.addPhase(*run, p, &error));
        QVERIFY2(error.contains(QStringLiteral("already has a phase with ordinal 2")),
                 qPrintable(error));
        const auto phases = store.phases(*run, &error);
        QVERIFY2(phases, qPrintable(error));
        QCOMPARE(phases->size(), 1);
        QCOMPARE(phases->at(0).duration, 10.25);
        QCOMPARE(phases->at(0).energy.size(), 2);
        QCOMPARE(phases->at(0).energy[0].domain, QStringLiteral("cpu")); // by domain name
        QCOMPARE(phases->at(0).energy[0].kind, ValueKind::Estimate);
        QCOMPARE(phases->at(0).energy[1].netJ, 80.25);

        QVERIFY(store.setMetric(*run, {}, QStringLiteral("accuracy"), 0.97, {}, ValueKind::Computed,
                                &error));
        QVERIFY(store.setMetric(*run, QStringLiteral("inference"), QStringLiteral("latency_p50"),
                                1.5, QStringLiteral("ms"), ValueKind::Measured, &error));
        QVERIFY(store.setMetric(*run, {}, QStringLiteral("accuracy"), 0.98, {}, ValueKind::Computed,
                                &error)); // replaces
        QVERIFY(store.setMetric(*run, {}, QStringLiteral("macs"), 2.3e6, QStringLiteral("MAC"),
                                ValueKind::Proxy, &error));
        const auto metrics = store.metrics(*run, &error);
        QCOMPARE(metrics->size(), 3);
        QCOMPARE(metrics->at(0).name, QStringLiteral("accuracy"));
        QCOMPARE(metrics->at(0).value, 0.98);
        QCOMPARE(metrics->at(1).kind, ValueKind::Proxy);
        QCOMPARE(metrics->at(2).phase, QStringLiteral("inference"));
        QCOMPARE(metrics->at(2).unit, QStringLiteral("ms"));

        QVERIFY(store.addArtifact(*run, QStringLiteral("model"), QStringLiteral("/m/a.pt"),
                                  QStringLiteral("abc"), 1234, &error));
        QCOMPARE(store.artifacts(*run, &error)->at(0).bytes, 1234);
        QVERIFY(store.addTechniqueLog(*run, QStringLiteral("prune"), QStringLiteral("pruned"),
                                      "{\"sparsity\":0.5}", &error));
        const auto logs = store.techniqueLogs(*run, &error);
        QCOMPARE(logs->size(), 1);
        QCOMPARE(logs->at(0).json, QByteArray("{\"sparsity\":0.5}"));
        QVERIFY(
            !store.setMetric(4242, {}, QStringLiteral("x"), 1, {}, ValueKind::Computed, &error));
        QVERIFY2(error.contains(QStringLiteral("no run 4242")), qPrintable(error));

        // Domains: kinds other than measured/estimate are refused, names are unique.
        QVERIFY(!store.addDomain(*run, {0, QStringLiteral("x"), ValueKind::Proxy, {}}, &error));
        QVERIFY(store.addDomain(
            *run, {0, QStringLiteral("gpu-0"), ValueKind::Measured, QStringLiteral("nvml")},
            &error));
        QVERIFY(
            !store.addDomain(*run, {0, QStringLiteral("gpu-0"), ValueKind::Measured, {}}, &error));
        QVERIFY2(error.contains(QStringLiteral("already has a domain")), qPrintable(error));
    }

    void comparisonUsesStoredAggregatesOnly()
    {
        const QString file = newFile();
        Store store;
        QString error;
        QVERIFY2(store.open(file, Store::OpenMode::ReadWrite, &error), qPrintable(error));
        const qint64 exp = makeExperiment(store);
        const qint64 otherExp = makeExperiment(store, QStringLiteral("other"));
        QList<qint64> runs;
        for (int rep = 0; rep < 3; ++rep) {
            const auto run = store.createRun(rep < 2 ? exp : otherExp,
                                             jbtest::key(QStringLiteral("k"), rep), {}, {}, &error);
            QVERIFY2(run, qPrintable(error));
            runs << *run;
            auto writer = store.sampleWriter(*run, &error);
            const auto ch = writer->addDomain(
                {0, QStringLiteral("package-0"), ValueKind::Measured, QStringLiteral("rapl")},
                &error);
            QVERIFY2(ch, qPrintable(error));
            for (int i = 0; i <= 10000; ++i)
                QVERIFY(writer->append(*ch, i * 0.001, i * 0.001 * (10.0 + rep)));
            PhaseRecord p{
                0,
                QStringLiteral("inference"),
                0,
                0.0,
                10.0,
                {{QStringLiteral("package-0"), 100.0 + rep, 50.0 + rep, ValueKind::Measured, 10.0}}};
            QVERIFY2(store.addPhase(*run, p, &error), qPrintable(error));
            QVERIFY(store.setMetric(*run, {}, QStringLiteral("accuracy"), 0.9 + rep / 100.0, {},
                                    ValueKind::Computed, &error));
            if (rep == 0)
                QVERIFY2(store.finishRun(*run, RunStatus::Completed, {QStringLiteral("flag")}, {},
                                         &error),
                         qPrintable(error));
        }
        // Run 1 (rep 1) is still running: it has no aggregates yet. Then drop every sample:
        // the comparison must not need them.
        {
            RawDb raw(file);
            QVERIFY(raw.exec(QStringLiteral("DELETE FROM sample_chunk")));
        }
        const auto cmp = store.comparison(exp, &error);
        QVERIFY2(cmp, qPrintable(error));
        QCOMPARE(cmp->experiment.id, exp);
        QCOMPARE(cmp->runs.size(), 2);
        const RunComparison &r0 = cmp->runs[0];
        QCOMPARE(r0.run.id, runs[0]);
        QCOMPARE(r0.run.status, RunStatus::Completed);
        QCOMPARE(r0.run.flags, QStringList{QStringLiteral("flag")});
        QCOMPARE(r0.phases.size(), 1);
        QCOMPARE(r0.phases[0].energy[0].netJ, 50.0);
        QCOMPARE(r0.phases[0].duration, 10.0);
        QCOMPARE(r0.metrics.size(), 1);
        QCOMPARE(r0.totals.size(), 1);
        QCOMPARE(r0.totals[0].samples, 10001);
        QVERIFY(qAbs(r0.totals[0].joules - 100.0) < 1e-9);
        QVERIFY(qAbs(r0.totals[0].peakPowerW - 10.0) < 1e-6);
        QCOMPARE(r0.totals[0].kind, ValueKind::Measured);
        const RunComparison &r1 = cmp->runs[1];
        QCOMPARE(r1.run.status, RunStatus::Running);
        QCOMPARE(r1.phases[0].energy[0].grossJ, 101.0);
        QCOMPARE(r1.metrics[0].value, 0.91);
        QVERIFY(r1.totals.isEmpty());
    }
};

int main(int argc, char **argv)
{
    if (argc == 3 && qstrcmp(argv[1], ChildFlag) == 0) {
        QCoreApplication app(argc, argv);
        return childMain(QString::fromLocal8Bit(argv[2]));
    }
    QCoreApplication app(argc, argv);
    TestDatabaseRuns test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "tst_database_runs.moc"
