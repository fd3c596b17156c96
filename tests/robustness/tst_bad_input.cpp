// SPDX-License-Identifier: GPL-3.0-or-later
// Bad input as a user meets it: joulebench-cli run / list / meters on a missing, truncated or
// corrupt model file, a TorchScript model of the wrong shape, truncated and corrupt IDX and
// CIFAR files, plans with wrong types, unknown keys, an unknown plugin, out-of-range values or
// broken JSON, a plan naming a plugin by path, empty / foreign / newer / non-SQLite database
// files, an unreadable energy_uj and a missing NVML library. Each row checks that the message
// names the thing (file, key) and says what to do; the messages are printed (qInfo) so that
// docs/robustness.md can quote them.
#include "database/store.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QRandomGenerator>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>

#include <functional>

using namespace Qt::StringLiterals;

namespace {

const QString kFashion = u"/usr/share/datasets/fashion-mnist"_s;

struct Result
{
    int code = -1;
    QString err;
    QString out;
};

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

QByteArray noise(qsizetype n)
{
    QRandomGenerator rng(1234); // fixed: the same "corrupt" bytes on every run
    QByteArray b(n, Qt::Uninitialized);
    for (char &c : b)
        c = static_cast<char>(rng.bounded(256));
    return b;
}

QByteArray bigEndian(quint32 v)
{
    const char bytes[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    return QByteArray(bytes, 4);
}

/// A plan on `dataset` / `model` (JSON fragments), small enough to fail fast.
QByteArray plan(const QByteArray &dataset, const QByteArray &model)
{
    return R"({"version": 1, "name": "bad-input", "dataset": )" + dataset +
           R"(, "model": )" + model +
           R"(, "training": {"epochs": 1}, "repetitions": 1,
               "inference": {"batchSizes": [1], "batches": 2, "warmupBatches": 0},
               "measurement": {"idleBefore": 0.05}})";
}

const QByteArray kSmallFashion = R"({"name": "fashion-mnist", "trainLimit": 128, "testLimit": 32})";

} // namespace

class TestBadInput : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    Result cli(const QStringList &args, const QProcessEnvironment &extra = {}) const
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(u"JOULEBENCH_PLUGIN_PATH"_s, QString());
        env.insert(u"OMP_WAIT_POLICY"_s, u"PASSIVE"_s);
        for (const QString &k : extra.keys())
            env.insert(k, extra.value(k));
        QProcess p;
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(JB_CLI_PATH), args);
        if (!p.waitForFinished(120000)) {
            p.kill();
            p.waitForFinished();
            return {-1, u"timed out"_s, {}};
        }
        return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -2,
                QString::fromUtf8(p.readAllStandardError()),
                QString::fromUtf8(p.readAllStandardOutput())};
    }
    QString path(const QString &name) const { return m_dir.filePath(name); }

    /// Writes `planJson` into its own folder (beside the files it names) and runs it.
    Result runPlan(const QString &folder, const QByteArray &planJson) const
    {
        const QString dir = path(folder);
        QDir().mkpath(dir);
        const QString planFile = dir + u"/plan.json"_s;
        if (!writeFile(planFile, planJson))
            return {-1, u"cannot write "_s + planFile, {}};
        return cli({u"run"_s, u"--plan"_s, planFile, u"--db"_s, dir + u"/db.sqlite"_s,
                    u"--meters"_s, u"estimate"_s});
    }

    static QString errorLines(const QString &err)
    {
        QStringList lines;
        for (const QString &l : err.split(u'\n'))
            if (l.startsWith(u"joulebench-cli: error"_s) ||
                (l.startsWith(u"  "_s) && !l.startsWith(u"   "_s) && l.contains(u':') &&
                 !l.startsWith(u"  NOTE"_s) && !l.startsWith(u"  energy domains"_s)))
                lines << l;
        return lines.join(u'\n');
    }

    static void expect(const Result &r, int code, const QStringList &parts)
    {
        qInfo().noquote() << "message:" << errorLines(r.err);
        QVERIFY2(r.code == code, qPrintable(u"exit %1, expected %2: %3"_s.arg(r.code).arg(code).arg(r.err)));
        for (const QString &p : parts)
            QVERIFY2(r.err.contains(p), qPrintable(u"'%1' not in: %2"_s.arg(p, r.err)));
    }

    bool haveFashion() const { return QFileInfo::exists(kFashion + u"/train-images-idx3-ubyte.gz"_s); }

    /// A Fashion-MNIST folder of links to the real files, with `replace` written instead
    /// (a raw file wins over the .gz of the same name).
    QString fashionWith(const QString &folder, const QString &rawName, const QByteArray &bytes)
    {
        const QString dir = path(folder + u"/data"_s);
        QDir().mkpath(dir);
        for (const QString &f : QDir(kFashion).entryList({u"*.gz"_s}, QDir::Files))
            QFile::link(kFashion + u'/' + f, dir + u'/' + f);
        writeFile(dir + u'/' + rawName, bytes);
        return dir;
    }

    /// A CIFAR-10 folder of six batches of zero records, then `edit` applied.
    QString cifar(const QString &folder, const std::function<void(const QString &)> &edit)
    {
        const QString dir = path(folder + u"/data"_s);
        QDir().mkpath(dir);
        const QByteArray batch(3073 * 10, '\0');
        for (const char *f : {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                              "data_batch_5", "test_batch"})
            writeFile(dir + u'/' + QString::fromLatin1(f) + u".bin"_s, batch);
        edit(dir);
        return dir;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    // --- model files ------------------------------------------------------------------------
    void missingModelFile()
    {
        if (!haveFashion())
            QSKIP("Fashion-MNIST is not installed");
        const Result r = runPlan(u"m-missing"_s, plan(kSmallFashion, R"({"torchScript": "nope.pt"})"));
        expect(r, 1, {u"cannot read the TorchScript model "_s + path(u"m-missing/nope.pt"_s),
                      u"model.torchScript"_s, u"fix the path"_s});
    }
    void truncatedModelFile()
    {
        if (!haveFashion())
            QSKIP("Fashion-MNIST is not installed");
        QFile model(QStringLiteral(JB_TEST_DATA_DIR) + u"/tiny_cnn.pt"_s);
        QVERIFY(model.open(QIODevice::ReadOnly));
        QDir().mkpath(path(u"m-trunc"_s));
        QVERIFY(writeFile(path(u"m-trunc/model.pt"_s), model.read(model.size() / 2)));
        const Result r = runPlan(u"m-trunc"_s, plan(kSmallFashion, R"({"torchScript": "model.pt"})"));
        expect(r, 1, {path(u"m-trunc/model.pt"_s) + u"' is not a loadable TorchScript file"_s,
                      u"torch.jit.script(model).save(path)"_s});
    }
    void corruptModelFile()
    {
        if (!haveFashion())
            QSKIP("Fashion-MNIST is not installed");
        QDir().mkpath(path(u"m-corrupt"_s));
        QVERIFY(writeFile(path(u"m-corrupt/model.pt"_s), noise(20000)));
        const Result r = runPlan(u"m-corrupt"_s, plan(kSmallFashion, R"({"torchScript": "model.pt"})"));
        expect(r, 1, {path(u"m-corrupt/model.pt"_s) + u"' is not a loadable TorchScript file"_s,
                      u"torch.jit.script(model).save(path)"_s});
    }
    void torchScriptOfTheWrongShape()
    {
        if (!haveFashion())
            QSKIP("Fashion-MNIST is not installed");
        // tiny_cnn.pt takes 1x8x8 images; Fashion-MNIST has 1x28x28.
        QDir().mkpath(path(u"m-shape"_s));
        QVERIFY(QFile::copy(QStringLiteral(JB_TEST_DATA_DIR) + u"/tiny_cnn.pt"_s,
                            path(u"m-shape/tiny_cnn.pt"_s)));
        const Result r = runPlan(u"m-shape"_s, plan(kSmallFashion, R"({"torchScript": "tiny_cnn.pt"})"));
        expect(r, 1, {path(u"m-shape/tiny_cnn.pt"_s), u"fails on an input [2, 1, 28, 28]"_s,
                      u"mat1 and mat2 shapes cannot be multiplied"_s,
                      u"export a model that takes this shape"_s});
        QVERIFY2(!r.err.contains(u"Traceback"_s), qPrintable(r.err));
    }

    // --- data sets --------------------------------------------------------------------------
    void truncatedIdxFile()
    {
        if (!haveFashion())
            QSKIP("Fashion-MNIST is not installed");
        // A valid header for 60000 images of 28 x 28, then only 1000 bytes of pixels.
        const QByteArray bytes = bigEndian(0x803) + bigEndian(60000) + bigEndian(28) +
                                 bigEndian(28) + QByteArray(1000, '\x7f');
        const QString dir = fashionWith(u"idx-trunc"_s, u"train-images-idx3-ubyte"_s, bytes);
        const Result r = runPlan(u"idx-trunc"_s,
                                 plan(R"({"name": "fashion-mnist", "path": ")" + dir.toUtf8() +
                                          R"(", "trainLimit": 128, "testLimit": 32})",
                                      R"({"zoo": "mlp"})"));
        expect(r, 1, {dir + u"/train-images-idx3-ubyte: truncated at byte 1016"_s,
                      u"get the files again"_s});
    }
    void corruptIdxFile()
    {
        if (!haveFashion())
            QSKIP("Fashion-MNIST is not installed");
        const QString dir = fashionWith(u"idx-corrupt"_s, u"train-labels-idx1-ubyte"_s, noise(5000));
        const Result r = runPlan(u"idx-corrupt"_s,
                                 plan(R"({"name": "fashion-mnist", "path": ")" + dir.toUtf8() +
                                          R"(", "trainLimit": 128, "testLimit": 32})",
                                      R"({"zoo": "mlp"})"));
        expect(r, 1, {dir + u"/train-labels-idx1-ubyte: bad magic number"_s,
                      u"is this an IDX file?"_s, u"get the files again"_s});
    }
    void truncatedCifarFile()
    {
        const QString dir = cifar(u"cifar-trunc"_s, [](const QString &d) {
            QFile::resize(d + u"/data_batch_1.bin"_s, 30000);
        });
        const Result r = runPlan(u"cifar-trunc"_s,
                                 plan(R"({"name": "cifar10", "path": ")" + dir.toUtf8() +
                                          R"(", "trainLimit": 64, "testLimit": 16})",
                                      R"({"zoo": "mlp"})"));
        expect(r, 1, {dir + u"/data_batch_1.bin: truncated at byte 30000"_s,
                      u"get the files again"_s, u"cifar-10-binary.tar.gz"_s});
    }
    void corruptCifarFile()
    {
        const QString dir = cifar(u"cifar-corrupt"_s, [](const QString &d) {
            QFile f(d + u"/test_batch.bin"_s);
            if (f.open(QIODevice::ReadWrite))
                f.write("\x0c"); // label 12 in a 10-class file
        });
        const Result r = runPlan(u"cifar-corrupt"_s,
                                 plan(R"({"name": "cifar10", "path": ")" + dir.toUtf8() +
                                          R"(", "trainLimit": 64, "testLimit": 16})",
                                      R"({"zoo": "mlp"})"));
        expect(r, 1, {dir + u"/test_batch.bin: the label 12 at byte 0 (record 0) is out of range"_s,
                      u"get the files again"_s});
    }

    // --- plans ------------------------------------------------------------------------------
    void planWithWrongTypes()
    {
        const Result r = runPlan(u"p-types"_s, R"({"version": 1, "name": "bad",
            "dataset": {"name": "fashion-mnist", "trainLimit": "many"}, "model": {"zoo": "mlp"},
            "repetitions": "3", "cacheBaseline": 1})");
        expect(r, 1, {path(u"p-types/plan.json"_s) + u" is not valid"_s,
                      u"dataset.trainLimit: \"many\" is a string, expected an integer"_s,
                      u"repetitions: \"3\" is a string, expected an integer"_s,
                      u"cacheBaseline: 1"_s});
        QVERIFY(!QFileInfo::exists(path(u"p-types/db.sqlite"_s))); // nothing was started
    }
    void planWithUnknownKeys()
    {
        const Result r = runPlan(u"p-keys"_s, R"({"version": 1, "name": "bad",
            "dataset": {"name": "fashion-mnist"}, "model": {"zoo": "mlp"},
            "repetitons": 3, "training": {"epoch": 1}})");
        expect(r, 1, {u"repetitons: unknown key (did you mean \"repetitions\"?)"_s,
                      u"training.epoch: unknown key (did you mean \"epochs\"?)"_s});
    }
    void planWithUnknownPlugin()
    {
        const Result r = runPlan(u"p-plugin"_s, R"({"version": 1, "name": "bad",
            "dataset": {"name": "fashion-mnist"}, "model": {"zoo": "mlp"},
            "variants": [{"label": "x", "chain": [{"plugin": "no.such_plugin"}]}]})");
        expect(r, 1, {u"variants[0].chain[0].plugin: \"no.such_plugin\" is not a known "
                      "technique plugin"_s});
    }
    // The worker loads code only from the plugin folders: a path in a plan is just an unknown id.
    void planNamingAPluginFileIsRefused()
    {
        const Result r = runPlan(u"p-path"_s, R"({"version": 1, "name": "bad",
            "dataset": {"name": "fashion-mnist"}, "model": {"zoo": "mlp"},
            "variants": [{"label": "x", "chain": [{"plugin": "/tmp/evil.so"}]}]})");
        expect(r, 1, {u"variants[0].chain[0].plugin: \"/tmp/evil.so\""_s});
        QVERIFY(!QFileInfo::exists(path(u"p-path/db.sqlite"_s)));
    }
    void planWithOutOfRangeValues()
    {
        const Result r = runPlan(u"p-range"_s, R"({"version": 1, "name": "bad",
            "dataset": {"name": "fashion-mnist", "validationFraction": 2}, "model": {"zoo": "mlp"},
            "repetitions": 0, "training": {"learningRate": -1}})");
        expect(r, 1, {u"dataset.validationFraction: 2.0 is above 0.9 (allowed range 0.0 to 0.9)"_s,
                      u"repetitions: 0 is below 1 (allowed range 1 to 1000)"_s,
                      u"training.learningRate: -1.0 is not above 0.0"_s});
    }
    void planThatIsNotJson()
    {
        const Result r = runPlan(u"p-json"_s, R"({"version": 1, "name": "bad", )");
        expect(r, 1, {u"plan.json:1:"_s, u"invalid JSON"_s});
    }

    // --- database files ---------------------------------------------------------------------
    void emptyDatabaseFile()
    {
        QVERIFY(writeFile(path(u"empty.sqlite"_s), {}));
        const Result r = cli({u"list"_s, u"--db"_s, path(u"empty.sqlite"_s)});
        expect(r, 1, {u"database "_s + path(u"empty.sqlite"_s) +
                      u" is an empty file (0 bytes), not a JouleBench database; delete it or "
                      "choose another --db"_s});
    }
    void foreignSqliteFile()
    {
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"foreign"_s);
            db.setDatabaseName(path(u"foreign.sqlite"_s));
            QVERIFY(db.open());
            QVERIFY(QSqlQuery(db).exec(u"CREATE TABLE customers (id INTEGER)"_s));
            db.close();
        }
        QSqlDatabase::removeDatabase(u"foreign"_s);
        const Result r = cli({u"list"_s, u"--db"_s, path(u"foreign.sqlite"_s)});
        expect(r, 1, {path(u"foreign.sqlite"_s) + u" is an SQLite database of another "
                      "application"_s, u"tables: customers"_s, u"choose another --db"_s});
    }
    void fileThatIsNotSqlite()
    {
        QVERIFY(writeFile(path(u"noise.sqlite"_s), noise(4096)));
        const Result r = cli({u"list"_s, u"--db"_s, path(u"noise.sqlite"_s)});
        expect(r, 1, {path(u"noise.sqlite"_s) + u" is not an SQLite database (it lacks the "
                      "SQLite header)"_s});
    }
    void databaseOfANewerVersion()
    {
        const QString file = path(u"newer.sqlite"_s);
        {
            jb::db::Store store;
            QString error;
            QVERIFY2(store.open(file, jb::db::Store::OpenMode::ReadWrite, &error), qPrintable(error));
        }
        {
            QSqlDatabase db = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"newer"_s);
            db.setDatabaseName(file);
            QVERIFY(db.open());
            QVERIFY(QSqlQuery(db).exec(u"PRAGMA user_version = 99"_s));
            db.close();
        }
        QSqlDatabase::removeDatabase(u"newer"_s);
        const Result r = cli({u"list"_s, u"--db"_s, file});
        expect(r, 1, {u"database "_s + file + u" was written by a newer JouleBench (schema 99"_s,
                      u"update JouleBench"_s});
    }

    // --- energy meters ----------------------------------------------------------------------
    // energy_uj unreadable even for root (a folder in its place) and no NVML library.
    void unreadableEnergyCounterAndMissingNvml()
    {
        const QString zone = path(u"powercap/intel-rapl:0"_s);
        QVERIFY(QDir().mkpath(zone + u"/energy_uj"_s));
        QVERIFY(writeFile(zone + u"/name"_s, "package-0\n"));
        QVERIFY(writeFile(zone + u"/max_energy_range_uj"_s, "262143328850\n"));
        QProcessEnvironment env;
        env.insert(u"JOULEBENCH_POWERCAP_ROOT"_s, path(u"powercap"_s));
        env.insert(u"JOULEBENCH_PERF_EVENT_ROOT"_s, path(u"no-perf"_s));
        env.insert(u"JOULEBENCH_NVML_LIBRARY"_s, u"/nonexistent/libnvidia-ml.so.1"_s);
        const Result r = cli({u"meters"_s}, env);
        qInfo().noquote() << "meters:" << r.out;
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains(u"cannot read "_s + zone + u"/energy_uj: Is a directory"_s),
                 qPrintable(r.out));
        QVERIFY2(r.out.contains(u"cannot load /nonexistent/libnvidia-ml.so.1"_s) &&
                     r.out.contains(u"set JOULEBENCH_NVML_LIBRARY"_s),
                 qPrintable(r.out));
        // Nothing readable but the estimate, and it says so.
        QVERIFY2(r.out.contains(u"estimate"_s), qPrintable(r.out));
    }
};

QTEST_GUILESS_MAIN(TestBadInput)
#include "tst_bad_input.moc"
