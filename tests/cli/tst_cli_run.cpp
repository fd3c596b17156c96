// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli run / list / show / compare / merge as a user runs them: the tiny plan on a
// fake RAPL package (driven by this process at 25 W), then the listings and tables; the
// estimate meter's labels; SIGINT; shards and merge; bad plans named by file and key path.
#include "engine/run_events.h"
#include "tst_runner_fake_power.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>

using namespace Qt::StringLiterals;

namespace {

struct Result
{
    int code = -1;
    QString out;
    QString err;
};

QString tinyPlan()
{
    return QStringLiteral(JB_TEST_DATA_DIR) + u"/plans/tiny.json"_s;
}

} // namespace

class TestCliRun : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<jb::test::FakePackage> m_package;

    QProcessEnvironment environment() const
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"JOULEBENCH_POWERCAP_ROOT"_s, m_package->root());
        env.insert(u"JOULEBENCH_PERF_EVENT_ROOT"_s, m_dir.filePath(u"no-perf"_s));
        env.insert(u"JOULEBENCH_NVML_LIBRARY"_s, m_dir.filePath(u"no-nvml.so"_s));
        env.insert(u"JOULEBENCH_PLUGIN_PATH"_s, QString());
        return env;
    }
    Result cli(const QStringList &args, int timeoutMs = 120000) const
    {
        QProcess p;
        p.setProcessEnvironment(environment());
        p.start(QStringLiteral(JB_CLI_PATH), args);
        if (!p.waitForFinished(timeoutMs)) {
            p.kill();
            p.waitForFinished();
            return {-1, {}, u"timed out"_s};
        }
        return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2,
                QString::fromUtf8(p.readAllStandardOutput()),
                QString::fromUtf8(p.readAllStandardError())};
    }
    QString db(const QString &name) const { return m_dir.filePath(name); }

private Q_SLOTS:
    void initTestCase()
    {
        if (!QFileInfo::exists(u"/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"_s))
            QSKIP("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist");
        QVERIFY(m_dir.isValid());
        m_package = std::make_unique<jb::test::FakePackage>(25.0);
    }
    void cleanupTestCase() { m_package.reset(); }

    void runThenListShowCompare()
    {
        const QString d = db(u"main.sqlite"_s);
        const Result run = cli({u"run"_s, u"--plan"_s, tinyPlan(), u"--db"_s, d});
        QVERIFY2(run.code == 0, qPrintable(run.err));
        QVERIFY2(run.err.contains(u"[1/2] run 1: baseline on cpu, repetition 0"_s),
                 qPrintable(run.err));
        QVERIFY(run.err.contains(u"package-0 (rapl-powercap, measured)"_s));
        QVERIFY(run.err.contains(u"-> completed"_s));
        QVERIFY(run.out.contains(u"Experiment 1 in "_s));
        QVERIFY(run.out.contains(u"2 completed, 0 failed"_s));

        const Result list = cli({u"list"_s, u"--db"_s, d});
        QVERIFY2(list.code == 0, qPrintable(list.err));
        QVERIFY(list.out.contains(u"Experiment 1 'tiny'"_s));
        QVERIFY(list.out.contains(u"2 run(s): 2 completed"_s));
        QCOMPARE(list.out.count(u"completed"_s), 3); // summary + two rows
        QVERIFY(list.out.contains(u"train-reused"_s));

        const Result show = cli({u"show"_s, u"--db"_s, d, u"--run"_s, u"1"_s});
        QVERIFY2(show.code == 0, qPrintable(show.err));
        for (const QString &s : {u"Run 1 of experiment 1 'tiny'"_s, u"Environment"_s,
                                 u"rapl-powercap"_s, u"Phases"_s, u"idle"_s, u"train"_s,
                                 u"evaluate"_s, u"inference:b16"_s, u"package-0"_s,
                                 u"measured"_s, u"accuracy"_s, u"latency_p50_ms"_s,
                                 u"energy_per_inference_j/package-0"_s, u"Run totals"_s})
            QVERIFY2(show.out.contains(s), qPrintable(s + u" missing in:\n"_s + show.out));
        const Result reused = cli({u"show"_s, u"--db"_s, d, u"--run"_s, u"2"_s});
        QVERIFY(reused.out.contains(u"REUSED from run 1"_s));

        const Result compare = cli({u"compare"_s, u"--db"_s, d, u"--experiment"_s, u"last"_s});
        QVERIFY2(compare.code == 0, qPrintable(compare.err));
        for (const QString &s :
             {u"Experiment 1 'tiny'"_s, u"accuracy %"_s, u"baseline"_s, u"2/2"_s,
              u"Net energy per phase, domain package-0 (measured, meter rapl-powercap), J"_s,
              u"Net energy per inference, domain package-0 (measured), mJ per sample"_s,
              u"b16"_s, u"Latency per batch"_s, u"(reused)"_s})
            QVERIFY2(compare.out.contains(s), qPrintable(s + u" missing in:\n"_s + compare.out));
        QVERIFY(!compare.out.contains(u"estimate"_s, Qt::CaseInsensitive));

        const Result json = cli({u"compare"_s, u"--db"_s, d, u"--json"_s});
        QVERIFY2(json.code == 0, qPrintable(json.err));
        const QJsonObject o = QJsonDocument::fromJson(json.out.toUtf8()).object();
        const QJsonArray variants = o.value(u"variants"_s).toArray();
        QCOMPARE(variants.size(), 1);
        const QJsonObject v = variants.first().toObject();
        QCOMPARE(v.value(u"runs"_s).toObject().value(u"completed"_s).toInt(), 2);
        bool train = false;
        for (const QJsonValue &f : v.value(u"figures"_s).toArray())
            if (f.toObject().value(u"id"_s).toString() == u"energy|train|package-0"_s) {
                train = true;
                QCOMPARE(f.toObject().value(u"kind"_s).toString(), u"measured"_s);
                QCOMPARE(f.toObject().value(u"n"_s).toInt(), 1); // trained once, reused once
            }
        QVERIFY(train);

        const Result missing = cli({u"compare"_s, u"--db"_s, d, u"--experiment"_s, u"99"_s});
        QVERIFY(missing.code != 0);
        QVERIFY2(missing.err.contains(u"99"_s), qPrintable(missing.err));
        const Result noRun = cli({u"show"_s, u"--db"_s, d, u"--run"_s, u"42"_s});
        QVERIFY(noRun.code != 0);
        QVERIFY2(noRun.err.contains(u"42"_s), qPrintable(noRun.err));
    }

    void jsonlStreamOnStdout()
    {
        const Result run = cli({u"run"_s, u"--plan"_s, tinyPlan(), u"--db"_s,
                                db(u"jsonl.sqlite"_s), u"--jsonl"_s});
        QVERIFY2(run.code == 0, qPrintable(run.err));
        const QStringList lines = run.out.split(u'\n', Qt::SkipEmptyParts);
        QVERIFY(lines.size() > 10);
        QStringList types;
        for (const QString &line : lines) {
            QString error;
            const auto e = jb::parseRunEvent(line.toUtf8(), &error);
            QVERIFY2(e, qPrintable(error + u": "_s + line));
            types.append(jb::runEventTypeName(e->type));
        }
        QVERIFY(types.contains(u"experiment-started"_s));
        QCOMPARE(types.count(u"run-finished"_s), 2);
        QCOMPARE(types.last(), u"experiment-finished"_s);
    }

    void estimateMeterIsLabelled()
    {
        const QString d = db(u"estimate.sqlite"_s);
        const Result run =
            cli({u"run"_s, u"--plan"_s, tinyPlan(), u"--db"_s, d, u"--meters"_s, u"estimate"_s});
        QVERIFY2(run.code == 0, qPrintable(run.err));
        QVERIFY(run.err.contains(u"ESTIMATE"_s));
        QVERIFY(run.err.contains(u"(estimate)"_s));
        const Result compare = cli({u"compare"_s, u"--db"_s, d});
        QVERIFY(compare.out.contains(u"domain cpu (ESTIMATE, meter estimate), J (estimate)"_s));
        QVERIFY(compare.out.contains(u"estimate 2/2"_s)); // the flag on both runs
        const Result show = cli({u"show"_s, u"--db"_s, d, u"--run"_s, u"1"_s});
        QVERIFY(show.out.contains(u"estimate"_s));
        QVERIFY(!show.out.contains(u" measured "_s));
    }

    void sigintCancelsTheRun()
    {
        const QString d = db(u"cancel.sqlite"_s);
        QTemporaryDir planDir;
        QFile plan(planDir.filePath(u"long.json"_s));
        QVERIFY(plan.open(QIODevice::WriteOnly));
        plan.write(R"({"version": 1, "name": "long",
            "dataset": {"name": "fashion-mnist", "trainLimit": 20000, "testLimit": 256},
            "model": {"zoo": "mlp"}, "training": {"epochs": 20, "batchSize": 32},
            "repetitions": 2, "measurement": {"idleBefore": 0.1}})");
        plan.close();
        QProcess p;
        p.setProcessEnvironment(environment());
        p.start(QStringLiteral(JB_CLI_PATH),
                {u"run"_s, u"--plan"_s, plan.fileName(), u"--db"_s, d, u"--jsonl"_s});
        QVERIFY(p.waitForStarted());
        bool training = false;
        QByteArray pending;
        QElapsedTimer timer;
        timer.start();
        while (!training && timer.elapsed() < 60000 && p.state() == QProcess::Running) {
            p.waitForReadyRead(200);
            pending += p.readAllStandardOutput();
            training = pending.contains(R"("phase":"train","run":1,"run_t")") &&
                       pending.contains(R"("state":"begin")");
        }
        QVERIFY2(training, pending.constData());
        ::kill(static_cast<pid_t>(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitStatus(), QProcess::NormalExit);
        QCOMPARE(p.exitCode(), 3); // ExitCancelled
        QVERIFY(QString::fromUtf8(p.readAllStandardError()).contains(u"cancelling"_s));
        const Result list = cli({u"list"_s, u"--db"_s, d, u"--json"_s});
        const QJsonArray runs = QJsonDocument::fromJson(list.out.toUtf8())
                                    .object()
                                    .value(u"experiments"_s)
                                    .toArray()
                                    .first()
                                    .toObject()
                                    .value(u"runs"_s)
                                    .toArray();
        QCOMPARE(runs.size(), 1);
        QCOMPARE(runs.first().toObject().value(u"status"_s).toString(), u"cancelled"_s);
        QVERIFY(runs.first().toObject().value(u"error"_s).toString().contains(u"'train'"_s));
    }

    void shardsMergeIntoOneExperiment()
    {
        const QString a = db(u"part-0.sqlite"_s);
        const QString b = db(u"part-1.sqlite"_s);
        const QString out = db(u"merged.sqlite"_s);
        QCOMPARE(cli({u"run"_s, u"--plan"_s, tinyPlan(), u"--db"_s, a, u"--shard"_s, u"0/2"_s,
                      u"--no-disk-cache"_s})
                     .code,
                 0);
        QCOMPARE(cli({u"run"_s, u"--plan"_s, tinyPlan(), u"--db"_s, b, u"--shard"_s, u"1/2"_s,
                      u"--no-disk-cache"_s})
                     .code,
                 0);
        const Result merge = cli({u"merge"_s, out, a, b});
        QVERIFY2(merge.code == 0, qPrintable(merge.err));
        QVERIFY2(merge.out.contains(u"2 run(s) added"_s), qPrintable(merge.out));
        const Result again = cli({u"merge"_s, out, a});
        QVERIFY(again.out.contains(u"1 duplicate(s) skipped"_s));
        const Result list = cli({u"list"_s, u"--db"_s, out});
        QVERIFY(list.out.contains(u"2 run(s): 2 completed"_s));
        const Result compare = cli({u"compare"_s, u"--db"_s, out});
        QVERIFY2(compare.code == 0, qPrintable(compare.err));
        QVERIFY(compare.out.contains(u"2/2"_s));
        // A shard runs whole repetitions: with 2 repetitions a third shard has nothing to do,
        // and says so before it creates a database.
        const QString empty = db(u"part-2-of-3.sqlite"_s);
        const Result none = cli({u"run"_s, u"--plan"_s, tinyPlan(), u"--db"_s, empty,
                                 u"--shard"_s, u"2/3"_s, u"--no-disk-cache"_s});
        QCOMPARE(none.code, 1);
        QVERIFY2(none.err.contains(u"shard 2/3 has no runs"_s) &&
                     none.err.contains(u"use at most 2 shards"_s),
                 qPrintable(none.err));
        QVERIFY(!QFileInfo::exists(empty));
    }

    // Technique variants through the real plugin registry (the template plugin).
    void techniqueVariantsAreComparedAtIsoAccuracy()
    {
        const QString plugin = QStringLiteral(JB_BUILD_DIR) +
                               u"/lib/joulebench/plugins/libjb_technique_template.so"_s;
        if (!QFileInfo::exists(plugin))
            QSKIP("the template plugin is not built (target jb_technique_plugins)");
        const QString d = db(u"chain.sqlite"_s);
        const Result run = cli({u"run"_s, u"--plan"_s,
                                QStringLiteral(JB_TEST_DATA_DIR) + u"/plans/tiny-chain.json"_s,
                                u"--db"_s, d});
        QVERIFY2(run.code == 0, qPrintable(run.err));
        QVERIFY(run.err.contains(u"prepare:template.weight_noise"_s));
        const Result compare = cli({u"compare"_s, u"--db"_s, d});
        QVERIFY2(compare.code == 0, qPrintable(compare.err));
        QVERIFY2(compare.out.contains(u"noise-200pct (over budget)"_s), qPrintable(compare.out));
        QVERIFY(compare.out.contains(u"OVER"_s));
        const QJsonObject o = QJsonDocument::fromJson(
                                  cli({u"compare"_s, u"--db"_s, d, u"--json"_s}).out.toUtf8())
                                  .object();
        const QJsonArray variants = o.value(u"variants"_s).toArray();
        QCOMPARE(variants.size(), 3);
        for (const QJsonValue &v : variants) {
            const QJsonObject vo = v.toObject();
            QCOMPARE(vo.value(u"runs"_s).toObject().value(u"completed"_s).toInt(), 2);
            bool prepare = false;
            for (const QJsonValue &f : vo.value(u"figures"_s).toArray())
                if (f.toObject().value(u"id"_s).toString() == u"energy|prepare|package-0"_s) {
                    prepare = true;
                    if (!vo.value(u"baseline"_s).toBool())
                        QCOMPARE(f.toObject()
                                     .value(u"deltaVsBaseline"_s)
                                     .toObject()
                                     .value(u"pairs"_s)
                                     .toInt(),
                                 2);
                }
            QVERIFY(prepare);
        }
    }

    void badPlansAreNamed()
    {
        const Result missing = cli({u"run"_s, u"--plan"_s, db(u"nope.json"_s), u"--db"_s,
                                    db(u"bad.sqlite"_s)});
        QCOMPARE(missing.code, 1);
        QVERIFY2(missing.err.contains(u"nope.json"_s), qPrintable(missing.err));

        QTemporaryDir planDir;
        QFile plan(planDir.filePath(u"bad.json"_s));
        QVERIFY(plan.open(QIODevice::WriteOnly));
        plan.write(R"({"version": 1, "name": "bad", "dataset": {"name": "fashion-mnist"},
                       "model": {"zoo": "mlp"}, "training": {"epoch": 2},
                       "repetitions": "3"})");
        plan.close();
        const Result bad =
            cli({u"run"_s, u"--plan"_s, plan.fileName(), u"--db"_s, db(u"bad.sqlite"_s)});
        QCOMPARE(bad.code, 1);
        QVERIFY2(bad.err.contains(u"bad.json is not valid"_s), qPrintable(bad.err));
        QVERIFY2(bad.err.contains(u"training.epoch: unknown key"_s), qPrintable(bad.err));
        QVERIFY2(bad.err.contains(u"repetitions: \"3\" is a string"_s), qPrintable(bad.err));
        QVERIFY(!QFileInfo::exists(db(u"bad.sqlite"_s))); // nothing was started

        const Result usage = cli({u"run"_s, u"--plan"_s, tinyPlan()});
        QCOMPARE(usage.code, 2);
        const Result shard = cli({u"run"_s, u"--plan"_s, tinyPlan(), u"--db"_s,
                                  db(u"bad.sqlite"_s), u"--shard"_s, u"2/2"_s});
        QCOMPARE(shard.code, 2);
    }
};

QTEST_GUILESS_MAIN(TestCliRun)
#include "tst_cli_run.moc"
