// SPDX-License-Identifier: GPL-3.0-or-later
// The GUI side of faults: the real worker (joulebench-cli run --jsonl, started by the run
// monitor) is killed with SIGKILL in its second run; the monitor says it crashed, the run it
// was measuring is stored as 'interrupted' at once and the completed run is kept. And the
// results browser refuses a database written by a newer JouleBench with a message.
#include "gui/results_browser.h"
#include "gui/run_monitor.h"

#include "database/store.h"

#include <QApplication>
#include <QFile>
#include <QFileInfo>
#include <QSignalSpy>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>

using namespace jb;
using namespace jb::gui;
using namespace Qt::StringLiterals;

namespace {

const char *kPlan = R"({
    "version": 1, "name": "crash",
    "dataset": {"name": "fashion-mnist", "trainLimit": 256, "testLimit": 64},
    "model": {"zoo": "mlp"},
    "training": {"epochs": 1, "batchSize": 64},
    "repetitions": 3,
    "inference": {"batchSizes": [1], "batches": 10, "warmupBatches": 2},
    "measurement": {"idleBefore": 3.0, "meters": ["estimate"]}
})";

bool writeFile(const QString &path, const QByteArray &bytes)
{
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

} // namespace

class TestGuiWorkerCrash : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void killedWorkerIsShownAndItsRunRecorded()
    {
        if (!QFileInfo::exists(u"/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"_s))
            QSKIP("Fashion-MNIST is not installed");
        const QString plan = m_dir.filePath(u"crash.json"_s);
        const QString db = m_dir.filePath(u"crash.sqlite"_s);
        const QString pidFile = m_dir.filePath(u"worker.pid"_s);
        QVERIFY(writeFile(plan, kPlan));
        // The worker as the GUI starts it; exec keeps the pid, which the test needs to kill it.
        const QString wrapper = m_dir.filePath(u"worker.sh"_s);
        QVERIFY(writeFile(wrapper, "#!/bin/sh\necho $$ > '" + pidFile.toUtf8() +
                                       "'\nJOULEBENCH_PLUGIN_PATH= exec '" JB_CLI_PATH "' \"$@\"\n"));
        QVERIFY(QFile::setPermissions(wrapper, QFile::ReadOwner | QFile::ExeOwner));

        RunMonitor monitor;
        QSignalSpy done(&monitor, &RunMonitor::finished);
        QString error;
        QVERIFY2(monitor.start(wrapper, plan, db, &error), qPrintable(error));
        // Kill it in the idle phase of the second run (3 s long), after the first completed.
        QTRY_VERIFY_WITH_TIMEOUT(monitor.phasesSeen().count(u"idle"_s) >= 2 || !done.isEmpty(),
                                 120000);
        QVERIFY2(done.isEmpty(), qPrintable(done.isEmpty() ? QString() : done.first().at(1).toString()));
        QFile f(pidFile);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const pid_t pid = static_cast<pid_t>(f.readAll().trimmed().toLongLong());
        QVERIFY(pid > 0);
        QCOMPARE(::kill(pid, SIGKILL), 0);
        QVERIFY(done.wait(30000));
        QCOMPARE(done.first().at(0).toBool(), false);
        const QString message = done.first().at(1).toString();
        qInfo().noquote() << "message:" << message;
        QVERIFY2(message.contains(u"The worker crashed (killed by a signal)."_s) &&
                     message.contains(u"1 unfinished run(s) marked 'interrupted' in "_s + db),
                 qPrintable(message));

        // Stored, not just shown: a read-only open reads the status from the file.
        db::Store store;
        QVERIFY2(store.open(db, db::Store::OpenMode::ReadOnly, &error), qPrintable(error));
        const auto runs = store.listRuns(store.lastExperiment(&error)->id, &error);
        QVERIFY2(runs, qPrintable(error));
        QCOMPARE(runs->size(), 2);
        QCOMPARE(runs->at(0).status, db::RunStatus::Completed);
        QCOMPARE(runs->at(1).status, db::RunStatus::Interrupted);
        QVERIFY(!runs->at(1).statusDerived);
        QVERIFY2(runs->at(1).error.contains(u"pid %1"_s.arg(pid)), qPrintable(runs->at(1).error));
    }

    void newerDatabaseIsRefusedByTheBrowser()
    {
        const QString db = m_dir.filePath(u"newer.sqlite"_s);
        {
            db::Store store;
            QString error;
            QVERIFY2(store.open(db, db::Store::OpenMode::ReadWrite, &error), qPrintable(error));
        }
        {
            QSqlDatabase c = QSqlDatabase::addDatabase(u"QSQLITE"_s, u"newer"_s);
            c.setDatabaseName(db);
            QVERIFY(c.open());
            QVERIFY(QSqlQuery(c).exec(u"PRAGMA user_version = %1"_s.arg(db::Store::currentSchemaVersion() + 1)));
            c.close();
        }
        QSqlDatabase::removeDatabase(u"newer"_s);
        ResultsBrowser browser;
        QString error;
        QVERIFY(!browser.openDatabase(db, &error));
        qInfo().noquote() << "message:" << error;
        QVERIFY2(error.contains(u"database %1 was written by a newer JouleBench (schema %2, this "
                                "build knows %3); update JouleBench"_s
                                    .arg(db)
                                    .arg(db::Store::currentSchemaVersion() + 1)
                                    .arg(db::Store::currentSchemaVersion())),
                 qPrintable(error));
        QVERIFY(browser.databasePath().isEmpty()); // nothing half-open
    }
};

QTEST_MAIN(TestGuiWorkerCrash)
#include "tst_gui_worker_crash.moc"
