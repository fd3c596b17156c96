// SPDX-License-Identifier: GPL-3.0-or-later
// Scale-out and interchange through joulebench-cli, as a user (or a Slurm job array) runs
// them: a plan split into 3 shards run as 3 concurrent processes, merged, has the unsharded
// run's configurations; compare flags runs from different hosts; the JSON export survives an
// import into a fresh database unchanged; CodeCarbon's emissions.csv goes out and comes back
// in as estimate runs beside the measured ones. Energy here is the estimate meter's.
#include "database/store.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace Qt::StringLiterals;

namespace {

struct Result
{
    int code = -1;
    QString out;
    QString err;
};

QSet<QString> configurations(const QString &dbPath)
{
    jb::db::Store store;
    QString error;
    QSet<QString> keys;
    if (!store.open(dbPath, jb::db::Store::OpenMode::ReadOnly, &error))
        return {u"cannot open: "_s + error};
    const auto exps = store.listExperiments(&error);
    for (const jb::db::ExperimentRecord &e : exps.value_or(QList<jb::db::ExperimentRecord>{}))
        for (const jb::db::RunRecord &r :
             store.listRuns(e.id, &error).value_or(QList<jb::db::RunRecord>{}))
            keys.insert(u"%1/%2/%3/%4"_s.arg(e.planHash, r.key.configKey)
                            .arg(r.key.repetition)
                            .arg(jb::db::runStatusName(r.status)));
    return keys;
}

QJsonObject variantEnvironment(const QString &compareJson, int variant)
{
    return QJsonDocument::fromJson(compareJson.toUtf8())
        .object()
        .value(u"variants"_s)
        .toArray()
        .at(variant)
        .toObject()
        .value(u"environment"_s)
        .toObject();
}

} // namespace

class TestCliInterop : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_plan;

    QString db(const QString &name) const { return m_dir.filePath(name); }
    QProcess *start(const QStringList &args) const
    {
        auto *p = new QProcess;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"JOULEBENCH_PLUGIN_PATH"_s, QString());
        env.insert(u"OMP_WAIT_POLICY"_s, u"PASSIVE"_s);
        p->setProcessEnvironment(env);
        p->start(QStringLiteral(JB_CLI_PATH), args);
        return p;
    }
    static Result finish(QProcess *p, int timeoutMs = 120000)
    {
        std::unique_ptr<QProcess> owned(p);
        if (!p->waitForFinished(timeoutMs)) {
            p->kill();
            p->waitForFinished();
            return {-1, {}, u"timed out"_s};
        }
        return {p->exitStatus() == QProcess::NormalExit ? p->exitCode() : -2,
                QString::fromUtf8(p->readAllStandardOutput()),
                QString::fromUtf8(p->readAllStandardError())};
    }
    Result cli(const QStringList &args) const { return finish(start(args)); }
    QStringList runArgs(const QString &dbName) const
    {
        return {u"run"_s,   u"--plan"_s,   m_plan,        u"--db"_s,
                db(dbName), u"--meters"_s, u"estimate"_s, u"--no-disk-cache"_s};
    }
    static QByteArray readAll(const QString &path)
    {
        QFile f(path);
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (!QFileInfo::exists(u"/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"_s))
            QSKIP("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist");
        QVERIFY(m_dir.isValid());
        // The tiny test plan with 3 repetitions: 3 runs, one per shard.
        QJsonObject plan =
            QJsonDocument::fromJson(readAll(QStringLiteral(JB_TEST_DATA_DIR "/plans/tiny.json")))
                .object();
        QVERIFY(!plan.isEmpty());
        plan.insert(u"name"_s, u"tiny-shards"_s);
        plan.insert(u"repetitions"_s, 3);
        m_plan = m_dir.filePath(u"tiny-shards.json"_s);
        QFile f(m_plan);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QJsonDocument(plan).toJson());
    }

    void threeShardsMergeToTheUnshardedConfigurations()
    {
        const Result whole = cli(runArgs(u"whole.sqlite"_s));
        QVERIFY2(whole.code == 0, qPrintable(whole.err));
        // Three shards as three concurrent processes, each with its own database.
        QList<QProcess *> shards;
        for (int i = 0; i < 3; ++i)
            shards << start(runArgs(u"part-%1.sqlite"_s.arg(i)) +
                            QStringList{u"--shard"_s, u"%1/3"_s.arg(i)});
        for (int i = 0; i < 3; ++i) {
            const Result r = finish(shards.at(i));
            QVERIFY2(r.code == 0, qPrintable(u"shard %1: "_s.arg(i) + r.err));
            QCOMPARE(configurations(db(u"part-%1.sqlite"_s.arg(i))).size(), 1);
        }
        // Shard 1 ran "on another node": its environment record names another host.
        {
            QSqlDatabase raw = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"fake-host"_s);
            raw.setDatabaseName(db(u"part-1.sqlite"_s));
            QVERIFY(raw.open());
            QSqlQuery q(raw);
            QVERIFY2(q.exec(u"UPDATE run SET env_json = json_set(env_json, '$.host', 'node-b')"_s),
                     qPrintable(q.lastError().text()));
            QCOMPARE(q.numRowsAffected(), 1);
            q.finish();
            raw.close();
        }
        QSqlDatabase::removeDatabase(u"fake-host"_s);

        const Result merge = cli({u"merge"_s, db(u"merged.sqlite"_s), db(u"part-0.sqlite"_s),
                                  db(u"part-1.sqlite"_s), db(u"part-2.sqlite"_s)});
        QVERIFY2(merge.code == 0, qPrintable(merge.err));
        QVERIFY2(merge.out.contains(u"3 run(s) added"_s), qPrintable(merge.out));
        const QSet<QString> expected = configurations(db(u"whole.sqlite"_s));
        QCOMPARE(expected.size(), 3);
        QCOMPARE(configurations(db(u"merged.sqlite"_s)), expected);

        const Result mixed = cli({u"compare"_s, u"--db"_s, db(u"merged.sqlite"_s), u"--json"_s});
        QVERIFY2(mixed.code == 0, qPrintable(mixed.err));
        const QJsonObject env = variantEnvironment(mixed.out, 0);
        QCOMPARE(env.value(u"flags"_s).toArray(), QJsonArray{u"mixed-hosts"_s});
        QVERIFY(env.value(u"hosts"_s).toArray().contains(u"node-b"_s));
        QCOMPARE(env.value(u"hosts"_s).toArray().size(), 2);
        const Result text = cli({u"compare"_s, u"--db"_s, db(u"merged.sqlite"_s)});
        QVERIFY2(text.out.contains(u"mixed-hosts, "_s), qPrintable(text.out));
        QVERIFY2(
            text.out.contains(u"(mixed-hosts): its runs and its baseline's come from different "
                              "machines or software (hosts "_s),
            qPrintable(text.out));
        QVERIFY(text.out.contains(u"node-b"_s));

        const Result same = cli({u"compare"_s, u"--db"_s, db(u"whole.sqlite"_s), u"--json"_s});
        QVERIFY2(same.code == 0, qPrintable(same.err));
        QCOMPARE(variantEnvironment(same.out, 0).value(u"flags"_s).toArray(), QJsonArray{});
        QCOMPARE(variantEnvironment(same.out, 0).value(u"hosts"_s).toArray().size(), 1);
    }

    void jsonExportSurvivesImport()
    {
        const QString first = db(u"first.json"_s), second = db(u"second.json"_s);
        const Result exp = cli({u"export"_s, u"--db"_s, db(u"merged.sqlite"_s), u"--format"_s,
                                u"json"_s, u"--samples"_s, u"--out"_s, first});
        QVERIFY2(exp.code == 0, qPrintable(exp.err));
        const Result imp = cli({u"import"_s, first, u"--db"_s, db(u"fresh.sqlite"_s)});
        QVERIFY2(imp.code == 0, qPrintable(imp.err));
        QVERIFY2(imp.out.contains(u"3 run(s)"_s), qPrintable(imp.out));
        const Result again = cli({u"export"_s, u"--db"_s, db(u"fresh.sqlite"_s), u"--format"_s,
                                  u"json"_s, u"--samples"_s, u"--out"_s, second});
        QVERIFY2(again.code == 0, qPrintable(again.err));
        const QByteArray a = readAll(first), b = readAll(second);
        QVERIFY(a.size() > 1000);
        QVERIFY2(a == b, "export -> import into a fresh database -> export differs");
        QCOMPARE(configurations(db(u"fresh.sqlite"_s)), configurations(db(u"merged.sqlite"_s)));

        QFile broken(db(u"broken.json"_s));
        QVERIFY(broken.open(QIODevice::WriteOnly));
        broken.write(a.left(a.size() / 2));
        broken.close();
        const Result bad = cli({u"import"_s, broken.fileName(), u"--db"_s, db(u"fresh.sqlite"_s)});
        QCOMPARE(bad.code, 1);
        QVERIFY2(bad.err.contains(u"broken.json is not a JSON object"_s), qPrintable(bad.err));
    }

    void codecarbonOutAndBackIn()
    {
        const QString csv = db(u"emissions.csv"_s);
        const Result exp =
            cli({u"export"_s, u"--db"_s, db(u"whole.sqlite"_s), u"--format"_s, u"codecarbon"_s,
                 u"--out"_s, csv, u"--country-iso-code"_s, u"FRA"_s});
        QVERIFY2(exp.code == 0, qPrintable(exp.err));
        const QList<QByteArray> lines = readAll(csv).split('\n');
        QVERIFY(lines.first().startsWith("timestamp,project_name,run_id,experiment_id,duration,"
                                         "emissions,emissions_rate,cpu_power,gpu_power,"
                                         "ram_power,cpu_energy,gpu_energy,ram_energy,"
                                         "energy_consumed,"));
        QCOMPARE(lines.size(), 1 + 3 + 1); // header, 3 runs, final newline
        QVERIFY(lines.at(1).contains(",FRA,"));
        QVERIFY(lines.at(1).contains(",estimate,gross,")); // the estimate meter, labelled

        // Into the measured experiment: the CodeCarbon rows become an estimate variant.
        const Result imp = cli({u"import-codecarbon"_s, csv, u"--db"_s, db(u"whole.sqlite"_s),
                                u"--into-experiment"_s, u"1"_s});
        QVERIFY2(imp.code == 0, qPrintable(imp.err));
        QVERIFY2(imp.out.contains(u"Imported 3 CodeCarbon row(s)"_s), qPrintable(imp.out));
        const Result cmp = cli({u"compare"_s, u"--db"_s, db(u"whole.sqlite"_s)});
        QVERIFY2(cmp.code == 0, qPrintable(cmp.err));
        QVERIFY2(cmp.out.contains(u"codecarbon"_s), qPrintable(cmp.out));
        QVERIFY(cmp.out.contains(u"imported 3/3"_s));
        QVERIFY(cmp.out.contains(u"domain codecarbon:total (ESTIMATE, meter codecarbon)"_s));

        const Result twice = cli({u"import-codecarbon"_s, csv, u"--db"_s, db(u"whole.sqlite"_s)});
        QCOMPARE(twice.code, 1);
        QVERIFY2(twice.err.contains(u"already imported"_s), qPrintable(twice.err));

        QFile bad(db(u"bad.csv"_s));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("timestamp,project_name,duration,energy_consumed\n"
                  "2025-01-01T10:00:00,p,10,0.001\n"
                  "2025-01-01T11:00:00,p,ten,0.001\n");
        bad.close();
        const Result rejected =
            cli({u"import-codecarbon"_s, bad.fileName(), u"--db"_s, db(u"other.sqlite"_s)});
        QCOMPARE(rejected.code, 1);
        QVERIFY2(rejected.err.contains(u"bad.csv, line 3, column 'duration': 'ten'"_s),
                 qPrintable(rejected.err));
        QVERIFY(!QFileInfo::exists(db(u"other.sqlite"_s))); // nothing was written
    }

    // scripts/slurm/joulebench-array.sbatch without Slurm: 'submit' against a fake sbatch
    // (the array and the merge job with its dependency), then the three array tasks and the
    // merge job run here as Slurm would start them.
    void slurmScriptSubmitsShardsAndMerges()
    {
        const QString script = QDir::cleanPath(
            QStringLiteral(JB_TEST_DATA_DIR "/../../scripts/slurm/joulebench-array.sbatch"));
        QVERIFY(QFileInfo(script).isExecutable());
        const QString bin = db(u"fake-bin"_s), out = db(u"slurm-out"_s);
        QVERIFY(QDir().mkpath(bin));
        QFile sbatch(bin + u"/sbatch"_s);
        QVERIFY(sbatch.open(QIODevice::WriteOnly));
        sbatch.write("#!/bin/bash\necho \"$*\" >> \"$(dirname \"$0\")/calls\"\n"
                     "echo \"$((100 + $(wc -l < \"$(dirname \"$0\")/calls\")));cluster\"\n");
        sbatch.close();
        sbatch.setPermissions(sbatch.permissions() | QFileDevice::ExeOwner);

        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"PATH"_s, bin + u':' + env.value(u"PATH"_s));
        env.insert(u"JB_CLI"_s, QStringLiteral(JB_CLI_PATH));
        env.insert(u"JOULEBENCH_PLUGIN_PATH"_s, QString());
        env.insert(u"OMP_WAIT_POLICY"_s, u"PASSIVE"_s);
        const auto bash = [&](const QStringList &args, const QProcessEnvironment &e) {
            auto *p = new QProcess;
            p->setProcessEnvironment(e);
            p->start(u"bash"_s, QStringList{script} + args);
            return p;
        };
        const Result submit =
            finish(bash({u"submit"_s, m_plan, out, u"3"_s, u"--time=1:00:00"_s}, env));
        QVERIFY2(submit.code == 0, qPrintable(submit.err));
        QCOMPARE(submit.out.trimmed(), u"101 102"_s);
        const QStringList calls =
            QString::fromUtf8(readAll(bin + u"/calls"_s)).split(u'\n', Qt::SkipEmptyParts);
        QCOMPARE(calls.size(), 2);
        QVERIFY2(calls.at(0).contains(u"--array=0-2 --exclusive"_s), qPrintable(calls.at(0)));
        QVERIFY(calls.at(0).endsWith(u"--time=1:00:00 "_s + script + u" task"_s));
        QVERIFY2(calls.at(1).contains(u"--dependency=afterany:101"_s), qPrintable(calls.at(1)));
        QVERIFY(calls.at(1).endsWith(u" merge"_s));

        // What 'submit' exports to the jobs, then the jobs themselves.
        env.insert(u"JB_PLAN"_s, m_plan);
        env.insert(u"JB_OUT"_s, out);
        env.insert(u"JB_SHARDS"_s, u"3"_s);
        env.insert(u"JB_LAUNCHER"_s, u"none"_s);
        env.insert(u"JB_MAX_LOAD"_s, u"1000"_s); // the shared test machine is never quiet
        env.insert(u"JB_RUN_ARGS"_s, u"--meters estimate --no-disk-cache"_s);
        QList<QProcess *> tasks;
        for (int i = 0; i < 3; ++i) {
            QProcessEnvironment e = env;
            e.insert(u"SLURM_ARRAY_TASK_ID"_s, QString::number(i));
            tasks << bash({u"task"_s}, e);
        }
        for (QProcess *t : tasks) {
            const Result r = finish(t);
            QVERIFY2(r.code == 0, qPrintable(r.err));
        }
        QVERIFY(readAll(out + u"/node-2.txt"_s).contains("task 2 of 3"));
        const Result merge = finish(bash({u"merge"_s}, env));
        QVERIFY2(merge.code == 0, qPrintable(merge.err));
        QCOMPARE(configurations(out + u"/merged.sqlite"_s), configurations(db(u"merged.sqlite"_s)));
        QVERIFY(readAll(out + u"/compare.txt"_s).contains("Experiment 1 'tiny-shards'"));

        env.insert(u"JB_MAX_LOAD"_s, u"-1"_s); // any load is too much
        env.insert(u"SLURM_ARRAY_TASK_ID"_s, u"0"_s);
        const Result busy = finish(bash({u"task"_s}, env));
        QCOMPARE(busy.code, 1);
        QVERIFY2(busy.err.contains(u"is not quiet"_s), qPrintable(busy.err));
    }
};

QTEST_GUILESS_MAIN(TestCliInterop)
#include "tst_cli_interop.moc"
