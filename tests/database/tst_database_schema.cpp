// SPDX-License-Identifier: GPL-3.0-or-later
// Schema creation, versioning and forward migrations (from the v1 fixture in tests/data/db).
#include "db_test_util.h"

#include "database/schema.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace jb::db;
using jbtest::RawDb;

class TestDatabaseSchema : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString path(const QString &name) const { return m_dir.filePath(name); }

    /// type/name/sql of every schema object, whitespace-normalised, sorted by name.
    static QStringList schemaOf(const QString &file)
    {
        RawDb db(file);
        QStringList out = db.column(QStringLiteral(
            "SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_master "
            "ORDER BY type, name"));
        for (QString &s : out)
            s = s.simplified();
        return out;
    }

    QString makeV1(const QString &name)
    {
        const QString file = path(name);
        QFile::remove(file);
        QString error;
        if (!jbtest::loadSqlFixture(jbtest::fixturePath(QStringLiteral("schema_v1.sql")), file,
                                    &error))
            qWarning() << error;
        return file;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void freshDatabaseHasCurrentSchema()
    {
        const QString file = path(QStringLiteral("fresh.sqlite"));
        Store store;
        QString error;
        QVERIFY2(store.open(file, Store::OpenMode::ReadWrite, &error), qPrintable(error));
        QCOMPARE(Store::currentSchemaVersion(), 2);
        store.close();

        RawDb db(file);
        QCOMPARE(db.value(QStringLiteral("PRAGMA user_version")).toInt(), 2);
        QCOMPARE(db.value(QStringLiteral("PRAGMA application_id")).toLongLong(),
                 Schema::ApplicationId);
        QCOMPARE(db.value(QStringLiteral("PRAGMA journal_mode")).toString(), QStringLiteral("wal"));
        const QStringList tables = db.column(
            QStringLiteral("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"));
        QCOMPARE(tables,
                 (QStringList{"artifact", "experiment", "metric", "phase", "phase_energy", "run",
                              "run_domain", "run_energy", "sample_chunk", "technique_log"}));
        // The run table of schema 2 records the owner and accepts 'interrupted'.
        const QStringList runColumns = db.column(QStringLiteral("SELECT name FROM "
                                                                "pragma_table_info('run')"));
        QVERIFY(runColumns.contains(QStringLiteral("owner_pid")));
        QVERIFY(runColumns.contains(QStringLiteral("owner_token")));
    }

    void reopeningDoesNotMigrateAgain()
    {
        const QString file = path(QStringLiteral("reopen.sqlite"));
        QString error;
        {
            Store store;
            QVERIFY2(store.open(file, Store::OpenMode::ReadWrite, &error), qPrintable(error));
            QVERIFY(store.createExperiment(QStringLiteral("e"), "{}", QStringLiteral("h"), &error));
        }
        const QStringList before = schemaOf(file);
        Store store;
        QVERIFY2(store.open(file, Store::OpenMode::ReadWrite, &error), qPrintable(error));
        const auto list = store.listExperiments(&error);
        QVERIFY2(list, qPrintable(error));
        QCOMPARE(list->size(), 1);
        store.close();
        QCOMPARE(schemaOf(file), before);
    }

    void migratesVersion1FixtureWithItsData()
    {
        const QString file = makeV1(QStringLiteral("v1.sqlite"));
        {
            RawDb db(file);
            QCOMPARE(db.value(QStringLiteral("PRAGMA user_version")).toInt(), 1);
        }
        Store store;
        QString error;
        QVERIFY2(store.open(file, Store::OpenMode::ReadWrite, &error), qPrintable(error));

        const auto exp = store.lastExperiment(&error);
        QVERIFY2(exp, qPrintable(error));
        QCOMPARE(exp->name, QStringLiteral("mnist-prune"));
        QCOMPARE(exp->planHash, QStringLiteral("hash-v1-a"));

        const auto runs = store.listRuns(exp->id, &error);
        QVERIFY2(runs, qPrintable(error));
        QCOMPARE(runs->size(), 2);
        const RunRecord &done = runs->at(0);
        QCOMPARE(done.status, RunStatus::Completed);
        QCOMPARE(done.flags, QStringList{QStringLiteral("thermal-throttle")});
        QCOMPARE(done.key.configKey, QStringLiteral("cfg-a"));
        QCOMPARE(done.ended, QStringLiteral("2026-01-05T10:05:00.000Z"));
        // Schema 1 did not record owners: a run left running there is interrupted, stored.
        const RunRecord &left = runs->at(1);
        QCOMPARE(left.status, RunStatus::Interrupted);
        QVERIFY(!left.statusDerived);
        QVERIFY2(left.error.contains(QStringLiteral("upgraded from schema 1")),
                 qPrintable(left.error));
        QVERIFY(!left.ended.isEmpty());

        // Phases, metrics, samples and artifacts survive.
        const auto phases = store.phases(done.id, &error);
        QVERIFY2(phases, qPrintable(error));
        QCOMPARE(phases->size(), 2);
        QCOMPARE(phases->at(1).name, QStringLiteral("inference"));
        QCOMPARE(phases->at(1).energy.size(), 1);
        QCOMPARE(phases->at(1).energy[0].grossJ, 10.0);
        const auto metrics = store.metrics(done.id, &error);
        QVERIFY2(metrics, qPrintable(error));
        QCOMPARE(metrics->size(), 2);
        const auto raw = store.readRaw(done.id, QStringLiteral("package-0"), -1e300, 1e300, &error);
        QVERIFY2(raw, qPrintable(error));
        QCOMPARE(raw->size(), 5);
        QCOMPARE(raw->at(3), (EnergySample{1.5, 16.0}));
        const auto artifacts = store.artifacts(done.id, &error);
        QVERIFY2(artifacts, qPrintable(error));
        QCOMPARE(artifacts->size(), 1);

        // The new run aggregates were computed from the chunks during the upgrade.
        const auto totals = store.runEnergy(done.id, &error);
        QVERIFY2(totals, qPrintable(error));
        QCOMPARE(totals->size(), 2);
        QCOMPARE(totals->at(1).domain, QStringLiteral("package-0"));
        QCOMPARE(totals->at(1).samples, 5);
        QCOMPARE(totals->at(1).joules, 20.0);
        QCOMPARE(totals->at(1).durationS, 2.0);
        QCOMPARE(totals->at(1).avgPowerW, 10.0);
        QCOMPARE(totals->at(1).peakPowerW, 12.0);
        QCOMPARE(totals->at(0).domain, QStringLiteral("cpu"));
        QCOMPARE(totals->at(0).kind, ValueKind::Estimate);
        QCOMPARE(totals->at(0).joules, 9.0);
        store.close();

        RawDb db(file);
        QCOMPARE(db.value(QStringLiteral("PRAGMA user_version")).toInt(), 2);
        QVERIFY(db.column(QStringLiteral("PRAGMA foreign_key_check")).isEmpty());
    }

    void migratedSchemaEqualsFreshSchema()
    {
        const QString migrated = makeV1(QStringLiteral("v1-compare.sqlite"));
        const QString fresh = path(QStringLiteral("fresh-compare.sqlite"));
        QString error;
        for (const QString &file : {migrated, fresh}) {
            Store store;
            QVERIFY2(store.open(file, Store::OpenMode::ReadWrite, &error), qPrintable(error));
        }
        const QStringList a = schemaOf(migrated);
        const QStringList b = schemaOf(fresh);
        QCOMPARE(a.size(), b.size());
        for (qsizetype i = 0; i < a.size(); ++i)
            QCOMPARE(a[i], b[i]);
    }

    void failedMigrationLeavesFileUnchanged()
    {
        const QString file = makeV1(QStringLiteral("v1-broken.sqlite"));
        {
            RawDb db(file); // foreign keys are off on a plain connection: plant an orphan
            QVERIFY(db.exec(QStringLiteral(
                "INSERT INTO phase_energy (phase_id, domain, kind, gross_j, net_j, avg_power_w) "
                "VALUES (999, 'x', 'measured', 1, 1, 1)")));
        }
        const QByteArray before = jbtest::fileBytes(file);
        QString error;
        Store store;
        QVERIFY(!store.open(file, Store::OpenMode::ReadWrite, &error));
        QVERIFY2(error.contains(QStringLiteral("broken reference in table phase_energy")),
                 qPrintable(error));
        QVERIFY2(error.contains(QStringLiteral("rolled back")), qPrintable(error));
        QVERIFY2(error.contains(file), qPrintable(error));
        RawDb db(file);
        QCOMPARE(db.value(QStringLiteral("PRAGMA user_version")).toInt(), 1);
        QCOMPARE(
            db.value(QStringLiteral("SELECT COUNT(*) FROM run WHERE status = 'running'")).toInt(),
            1);
        QCOMPARE(db.column(QStringLiteral("SELECT name FROM sqlite_master WHERE name = "
                                          "'run_energy'")),
                 QStringList());
        QCOMPARE(jbtest::fileBytes(file), before);
    }

    void readOnlyOpenOfOlderSchemaIsRefusedAndChangesNothing()
    {
        const QString file = makeV1(QStringLiteral("v1-ro.sqlite"));
        const QByteArray before = jbtest::fileBytes(file);
        Store store;
        QString error;
        QVERIFY(!store.open(file, Store::OpenMode::ReadOnly, &error));
        QVERIFY2(error.contains(QStringLiteral("has schema 1, older than this build's 2")),
                 qPrintable(error));
        QVERIFY2(error.contains(QStringLiteral("open it once read-write")), qPrintable(error));
        QCOMPARE(jbtest::fileBytes(file), before);
    }

    void newerSchemaIsRefused()
    {
        const QString file = path(QStringLiteral("newer.sqlite"));
        QString error;
        {
            Store store;
            QVERIFY2(store.open(file, Store::OpenMode::ReadWrite, &error), qPrintable(error));
        }
        {
            RawDb db(file);
            QVERIFY(db.exec(QStringLiteral("PRAGMA user_version = 7")));
        }
        const QString expected = QStringLiteral("database %1 was written by a newer JouleBench "
                                                "(schema 7, this build knows 2); update "
                                                "JouleBench")
                                     .arg(QFileInfo(file).absoluteFilePath());
        for (Store::OpenMode mode : {Store::OpenMode::ReadWrite, Store::OpenMode::ReadOnly}) {
            Store store;
            QVERIFY(!store.open(file, mode, &error));
            QCOMPARE(error, expected);
            QVERIFY(!store.isOpen());
        }
        RawDb db(file);
        QCOMPARE(db.value(QStringLiteral("PRAGMA user_version")).toInt(), 7);
    }

    void scriptSplitterRespectsQuotesAndComments()
    {
        const QStringList s = sql::splitStatements(QStringLiteral(
            "-- a comment; with a semicolon\nCREATE TABLE t(x); /* block; */ INSERT INTO t "
            "VALUES ('a;b''c');\n  ; SELECT \"x;\" FROM t"));
        QCOMPARE(s.size(), 3);
        QCOMPARE(s[0], QStringLiteral("CREATE TABLE t(x)"));
        QCOMPARE(s[1], QStringLiteral("INSERT INTO t VALUES ('a;b''c')"));
        QCOMPARE(s[2], QStringLiteral("SELECT \"x;\" FROM t"));
    }
};

QTEST_GUILESS_MAIN(TestDatabaseSchema)
#include "tst_database_schema.moc"
