// SPDX-License-Identifier: GPL-3.0-or-later
// What a user sees when the database cannot be used: empty, garbage or foreign files, missing
// files and folders, read-only opens, a writer holding the lock, the wrong thread.
#include "db_test_util.h"

#include "database/sample_writer.h"

#include <QDir>
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

#include <unistd.h>

using namespace jb::db;
using jbtest::RawDb;
using namespace std::chrono_literals;

class TestDatabaseErrors : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString path(const QString &name) const { return m_dir.filePath(name); }

    QString createDb(const QString &name)
    {
        const QString file = path(name);
        Store store;
        QString error;
        if (!store.open(file, Store::OpenMode::ReadWrite, &error))
            qWarning() << error;
        return file;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void emptyFileIsRefused()
    {
        const QString file = path(QStringLiteral("empty.sqlite"));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.close();
        for (Store::OpenMode mode : {Store::OpenMode::ReadWrite, Store::OpenMode::ReadOnly}) {
            Store store;
            QString error;
            QVERIFY(!store.open(file, mode, &error));
            QCOMPARE(error, QStringLiteral("database %1 is an empty file (0 bytes), not a "
                                           "JouleBench database; delete it or choose another "
                                           "--db")
                                .arg(file));
        }
        QCOMPARE(QFileInfo(file).size(), 0);
    }

    void garbageFileIsRefused()
    {
        const QString file = path(QStringLiteral("garbage.sqlite"));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(3000, 'x'));
        f.close();
        Store store;
        QString error;
        QVERIFY(!store.open(file, Store::OpenMode::ReadWrite, &error));
        QVERIFY2(error.startsWith(file + QStringLiteral(" is not an SQLite database")),
                 qPrintable(error));
        QCOMPARE(jbtest::fileBytes(file), QByteArray(3000, 'x'));
    }

    void damagedSqliteFileIsRefused()
    {
        // A valid header followed by garbage: SQLite itself reports "not a database".
        const QString file = path(QStringLiteral("damaged.sqlite"));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray("SQLite format 3\0", 16) + QByteArray(4080, '\xff'));
        f.close();
        Store store;
        QString error;
        QVERIFY(!store.open(file, Store::OpenMode::ReadOnly, &error));
        QVERIFY2(error.contains(file), qPrintable(error));
        QVERIFY2(error.contains(QStringLiteral("not an SQLite database")) ||
                     error.contains(QStringLiteral("damaged")),
                 qPrintable(error));
    }

    void foreignSqliteDatabaseIsRefused()
    {
        const QString file = path(QStringLiteral("foreign.sqlite"));
        {
            RawDb db(file);
            QVERIFY(db.exec(QStringLiteral("CREATE TABLE customers (id INTEGER, name TEXT)")));
        }
        const QByteArray before = jbtest::fileBytes(file);
        for (Store::OpenMode mode : {Store::OpenMode::ReadWrite, Store::OpenMode::ReadOnly}) {
            Store store;
            QString error;
            QVERIFY(!store.open(file, mode, &error));
            QVERIFY2(error.contains(QStringLiteral("is an SQLite database of another "
                                                   "application")),
                     qPrintable(error));
            QVERIFY2(error.contains(QStringLiteral("tables: customers")), qPrintable(error));
            QVERIFY2(error.contains(QStringLiteral("not a JouleBench database")),
                     qPrintable(error));
        }
        QCOMPARE(jbtest::fileBytes(file), before);
    }

    void blankSqliteFileIsSetUpReadWriteOnly()
    {
        const QString file = path(QStringLiteral("blank.sqlite"));
        {
            RawDb db(file);
            QVERIFY(db.exec(QStringLiteral("CREATE TABLE t (x)")));
            QVERIFY(db.exec(QStringLiteral("DROP TABLE t")));
        }
        QVERIFY(QFileInfo(file).size() > 0);
        Store store;
        QString error;
        QVERIFY(!store.open(file, Store::OpenMode::ReadOnly, &error));
        QVERIFY2(error.contains(QStringLiteral("empty SQLite file")), qPrintable(error));
        QVERIFY2(store.open(file, Store::OpenMode::ReadWrite, &error), qPrintable(error));
    }

    void missingFileAndFolder()
    {
        Store store;
        QString error;
        const QString missing = path(QStringLiteral("missing.sqlite"));
        QVERIFY(!store.open(missing, Store::OpenMode::ReadOnly, &error));
        QCOMPARE(error, QStringLiteral("database %1 does not exist; check the path (a viewer "
                                       "never creates files)")
                            .arg(missing));
        QVERIFY(!QFileInfo::exists(missing));
        const QString deep = path(QStringLiteral("no/such/dir/x.sqlite"));
        QVERIFY(!store.open(deep, Store::OpenMode::ReadWrite, &error));
        QVERIFY2(error.contains(QStringLiteral("does not exist; create it first")),
                 qPrintable(error));
        QVERIFY(!store.open(QString(), Store::OpenMode::ReadWrite, &error));
        QVERIFY2(error.contains(QStringLiteral("no database file given")), qPrintable(error));
        QVERIFY(!store.listExperiments(&error));
        QVERIFY2(error.contains(QStringLiteral("no database is open")), qPrintable(error));
    }

    void readOnlyOpenRefusesWrites()
    {
        const QString file = createDb(QStringLiteral("ro.sqlite"));
        qint64 runId = 0;
        {
            Store store;
            QString error;
            QVERIFY(store.open(file, Store::OpenMode::ReadWrite, &error));
            const auto exp =
                store.createExperiment(QStringLiteral("e"), "{}", QStringLiteral("h"), &error);
            runId = store.createRun(*exp, jbtest::key("k", 0), {}, {}, &error).value_or(0);
            QVERIFY(runId > 0);
            QVERIFY(store.finishRun(runId, RunStatus::Completed, {}, {}, &error));
        }
        const QByteArray before = jbtest::fileBytes(file);
        Store viewer;
        QString error;
        QVERIFY2(viewer.open(file, Store::OpenMode::ReadOnly, &error), qPrintable(error));
        QVERIFY(viewer.isReadOnly());
        QVERIFY(!viewer.createExperiment(QStringLiteral("x"), "{}", QStringLiteral("h2"), &error));
        QCOMPARE(error, QStringLiteral("creating experiment 'x' failed: database %1 is open "
                                       "read-only (as a viewer); open it read-write to change "
                                       "it")
                            .arg(file));
        QVERIFY(!viewer.createRun(1, jbtest::key("k", 1), {}, {}, &error));
        QVERIFY(error.contains(QStringLiteral("open read-only (as a viewer)")));
        QVERIFY(
            !viewer.setMetric(runId, {}, QStringLiteral("a"), 1, {}, ValueKind::Computed, &error));
        QVERIFY(error.contains(QStringLiteral("open read-only (as a viewer)")));
        QVERIFY(!viewer.addPhase(runId, PhaseRecord{}, &error));
        QVERIFY(!viewer.sampleWriter(runId, &error));
        QVERIFY(!viewer.recoverInterruptedRuns(&error));
        QVERIFY(!viewer.mergeFrom(file, &error));
        // Reads work.
        QVERIFY2(viewer.run(runId, &error), qPrintable(error));
        QVERIFY2(viewer.comparison(1, &error), qPrintable(error));
        viewer.close();
        QCOMPARE(jbtest::fileBytes(file), before);
    }

    void readOnlyFileCannotBeOpenedForWriting()
    {
        if (::geteuid() == 0)
            QSKIP("running as root: file permissions do not apply");
        const QString file = createDb(QStringLiteral("perm.sqlite"));
        QFile::setPermissions(file, QFile::ReadOwner | QFile::ReadUser);
        Store store;
        QString error;
        QVERIFY(!store.open(file, Store::OpenMode::ReadWrite, &error));
        QVERIFY2(error.contains(QStringLiteral("is read-only (file permissions)")),
                 qPrintable(error));
        QVERIFY2(store.open(file, Store::OpenMode::ReadOnly, &error), qPrintable(error));
    }

    void viewerOpensDatabaseInReadOnlyFolder()
    {
        if (::geteuid() == 0)
            QSKIP("running as root: folder permissions do not apply");
        QVERIFY(QDir(m_dir.path()).mkpath(QStringLiteral("rofolder")));
        const QString file = createDb(QStringLiteral("rofolder/x.sqlite"));
        const QString folder = QFileInfo(file).absolutePath();
        QFile::setPermissions(folder, QFile::ReadOwner | QFile::ExeOwner);
        Store store;
        QString error;
        const bool opened = store.open(file, Store::OpenMode::ReadOnly, &error);
        const bool listed = opened && store.listExperiments(&error).has_value();
        store.close();
        QFile::setPermissions(folder, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
        QVERIFY2(opened && listed, qPrintable(error));
    }

    void lockedDatabaseFailsAfterBusyTimeout()
    {
        const QString file = createDb(QStringLiteral("locked.sqlite"));
        Store store;
        QString error;
        QVERIFY2(store.open(file, Store::OpenMode::ReadWrite, &error, 300ms), qPrintable(error));
        const auto exp =
            store.createExperiment(QStringLiteral("e"), "{}", QStringLiteral("h"), &error);
        const auto run = store.createRun(*exp, jbtest::key("k", 0), {}, {}, &error);
        QVERIFY2(run, qPrintable(error));
        auto writer = store.sampleWriter(*run, &error);
        const auto ch =
            writer->addDomain({0, QStringLiteral("cpu"), ValueKind::Estimate, {}}, &error);
        QVERIFY(ch);
        writer->setAutoFlushInterval(0);
        for (int i = 0; i < 100; ++i)
            QVERIFY(writer->append(*ch, i, i * 2.0));

        RawDb other(file);
        QVERIFY(other.exec(QStringLiteral("BEGIN IMMEDIATE")));

        // Reads still work in WAL mode while another connection writes.
        QVERIFY2(store.listExperiments(&error), qPrintable(error));
        QElapsedTimer timer;
        timer.start();
        QVERIFY(!store.createExperiment(QStringLiteral("e2"), "{}", QStringLiteral("h2"), &error));
        QVERIFY(timer.elapsed() >= 250);
        QCOMPARE(error, QStringLiteral("database %1 is locked by another writer (waited 0.3 s) "
                                       "while creating experiment 'e2'; close the other "
                                       "JouleBench process or use another --db")
                            .arg(file));
        // Buffered samples survive a failed flush and are written once the lock is free.
        QVERIFY(!writer->flush(&error));
        QVERIFY2(error.contains(QStringLiteral("is locked by another writer")), qPrintable(error));
        QCOMPARE(writer->samplesStored(), 0);

        QVERIFY(other.exec(QStringLiteral("ROLLBACK")));
        QVERIFY2(writer->flush(&error), qPrintable(error));
        QCOMPARE(writer->samplesStored(), 100);
        const auto raw = store.readRaw(*run, QStringLiteral("cpu"), 0, 1000, &error);
        QVERIFY2(raw, qPrintable(error));
        QCOMPARE(raw->size(), 100);
        QVERIFY2(store.createExperiment(QStringLiteral("e2"), "{}", QStringLiteral("h2"), &error),
                 qPrintable(error));
    }

    void useFromAnotherThreadIsAnError()
    {
        const QString file = createDb(QStringLiteral("thread.sqlite"));
        Store store;
        QString error;
        QVERIFY(store.open(file, Store::OpenMode::ReadWrite, &error));
        bool ok = true;
        QString threadError;
        QThread *t = QThread::create([&] { ok = store.listExperiments(&threadError).has_value(); });
        t->start();
        QVERIFY(t->wait(10000));
        delete t;
        QVERIFY(!ok);
        QVERIFY2(threadError.contains(QStringLiteral("opened on another thread")),
                 qPrintable(threadError));
    }
};

QTEST_GUILESS_MAIN(TestDatabaseErrors)
#include "tst_database_errors.moc"
