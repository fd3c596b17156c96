// SPDX-License-Identifier: GPL-3.0-or-later
// Store: opening, schema checks, experiments and the run life cycle. Results (phases, metrics,
// ...) are in store_results.cpp, samples in sample_writer.cpp / series_reader.cpp, merging in
// merge.cpp.
#include "store.h"

#include "database_log.h"
#include "process_identity.h"
#include "sample_writer.h"
#include "schema.h"

#include <QAtomicInteger>
#include <QCoreApplication>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSqlDriver>
#include <QThread>
#include <QUrl>

namespace jb::db {

using sql::fail;

namespace {

const QString RunColumns = QStringLiteral(
    "id, experiment_id, variant, chain_json, backend, repetition, config_key, config_json, "
    "env_json, status, flags, error, started, ended, owner_pid, owner_host, owner_token");

QString flagsToJson(const QStringList &flags)
{
    return QString::fromUtf8(
        QJsonDocument(QJsonArray::fromStringList(flags)).toJson(QJsonDocument::Compact));
}

/// Creates a new database at `abs` so that a crash never leaves a half-made (0-byte) file
/// there, which every later open would refuse: the schema is written to a private file beside
/// it, which is then renamed into place without replacing anything (a file another process
/// made meanwhile wins).
bool createAtomically(const QString &abs, QString *error)
{
    const QString tmp =
        abs + QStringLiteral(".creating-%1").arg(QCoreApplication::applicationPid());
    const auto removeTmp = [&tmp] {
        for (const char *suffix : {"", "-journal", "-wal", "-shm"})
            QFile::remove(tmp + QLatin1String(suffix));
    };
    removeTmp();
    static QAtomicInteger<quint64> counter;
    const QString name =
        QStringLiteral("joulebench-create-%1").arg(counter.fetchAndAddRelaxed(1));
    bool ok = false;
    {
        sql::Connection conn;
        conn.db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        conn.db.setDatabaseName(tmp);
        conn.path = abs;
        if (!conn.db.open())
            fail(error, conn.describe(conn.db.lastError(), QStringLiteral("creating it")));
        else
            ok = conn.execSql(QStringLiteral("PRAGMA foreign_keys = ON"),
                              QStringLiteral("enabling foreign keys"), error) &&
                 Schema::migrate(conn, 0, error);
        conn.db.close();
        conn.db = QSqlDatabase();
    }
    QSqlDatabase::removeDatabase(name);
    if (ok && !QFile::rename(tmp, abs) && !QFileInfo::exists(abs))
        ok = fail(error, QStringLiteral("cannot create database %1 (renaming %2 failed); check "
                                        "that the folder is writable")
                             .arg(abs, tmp));
    removeTmp();
    return ok;
}

QStringList flagsFromJson(const QString &json)
{
    QStringList out;
    const QJsonArray array = QJsonDocument::fromJson(json.toUtf8()).array();
    for (const QJsonValue &v : array)
        out << v.toString();
    return out;
}

QString interruptedText(const RunOwner &owner)
{
    return QStringLiteral("interrupted: the process that ran it (pid %1 on host %2) ended "
                          "without finishing the run (killed, crashed or powered off)")
        .arg(owner.pid)
        .arg(owner.host);
}

} // namespace

Store::Store() = default;

Store::~Store()
{
    close();
}

int Store::currentSchemaVersion()
{
    return Schema::CurrentVersion;
}

bool Store::isOpen() const
{
    return m_conn.db.isValid() && m_conn.db.isOpen();
}

bool Store::open(const QString &path, OpenMode mode, QString *error,
                 std::chrono::milliseconds busyTimeout)
{
    close();
    if (path.isEmpty())
        return fail(error, QStringLiteral("no database file given; pass a path, e.g. --db "
                                          "results.sqlite"));
    const QFileInfo info(path);
    const QString abs = info.absoluteFilePath();
    if (info.exists()) {
        if (info.isDir())
            return fail(error, QStringLiteral("database %1 is a folder, not a file; give the "
                                              "path of a .sqlite file")
                                   .arg(abs));
        if (info.size() == 0)
            return fail(error, QStringLiteral("database %1 is an empty file (0 bytes), not a "
                                              "JouleBench database; delete it or choose "
                                              "another --db")
                                   .arg(abs));
        QFile file(abs);
        if (!file.open(QIODevice::ReadOnly))
            return fail(error, QStringLiteral("database %1 cannot be read (%2); fix its "
                                              "permissions")
                                   .arg(abs, file.errorString()));
        if (file.read(16) != QByteArrayLiteral("SQLite format 3\0"))
            return fail(error, QStringLiteral("%1 is not an SQLite database (it lacks the "
                                              "SQLite header); choose a JouleBench database "
                                              "file")
                                   .arg(abs));
        if (mode == OpenMode::ReadWrite && !info.isWritable())
            return fail(error, QStringLiteral("database %1 is read-only (file permissions); "
                                              "open it read-only to view it, or make it "
                                              "writable")
                                   .arg(abs));
    } else {
        if (mode == OpenMode::ReadOnly)
            return fail(error, QStringLiteral("database %1 does not exist; check the path "
                                              "(a viewer never creates files)")
                                   .arg(abs));
        const QFileInfo dir(info.absolutePath());
        if (!dir.isDir())
            return fail(error, QStringLiteral("cannot create database %1: folder %2 does not "
                                              "exist; create it first")
                                   .arg(abs, dir.absoluteFilePath()));
        if (!dir.isWritable())
            return fail(error, QStringLiteral("cannot create database %1: folder %2 is not "
                                              "writable; choose another --db")
                                   .arg(abs, dir.absoluteFilePath()));
        if (!createAtomically(abs, error))
            return false;
    }

    static QAtomicInteger<quint64> counter;
    m_connectionName = QStringLiteral("joulebench-store-%1").arg(counter.fetchAndAddRelaxed(1));
    m_conn.db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_connectionName);
    QSqlDatabase &db = m_conn.db;
    if (!db.isValid()) {
        db = QSqlDatabase();
        QSqlDatabase::removeDatabase(m_connectionName);
        m_connectionName.clear();
        return fail(error, QStringLiteral("cannot open database %1: the Qt SQLite driver "
                                          "(QSQLITE) is missing; install libqt6sql6-sqlite")
                               .arg(abs));
    }
    // A viewer of a WAL database needs to create the -shm file beside it. In a read-only
    // folder without one, no writer can be active either (it would need the same files), so
    // the file is opened as immutable instead of failing.
    const bool immutable = mode == OpenMode::ReadOnly &&
                           !QFileInfo(info.absolutePath()).isWritable() &&
                           !QFileInfo::exists(abs + QStringLiteral("-shm"));
    if (immutable) {
        qCInfo(lcDatabase).noquote()
            << "database" << abs << "is in a read-only folder; opened as immutable";
        db.setDatabaseName(QUrl::fromLocalFile(abs).toString(QUrl::FullyEncoded) +
                           QStringLiteral("?immutable=1"));
    } else {
        db.setDatabaseName(abs);
    }
    // OPEN_URI lets merge ATTACH shards read-only ("file:...?mode=ro").
    QString options = QStringLiteral("QSQLITE_BUSY_TIMEOUT=%1;QSQLITE_OPEN_URI")
                          .arg(static_cast<qint64>(busyTimeout.count()));
    if (mode == OpenMode::ReadOnly)
        options += QStringLiteral(";QSQLITE_OPEN_READONLY");
    db.setConnectOptions(options);
    m_conn.path = abs;
    m_conn.busyTimeoutMs = static_cast<int>(busyTimeout.count());
    m_mode = mode;
    m_thread = QThread::currentThread();
    if (!db.open()) {
        const QString message = m_conn.describe(db.lastError(), QStringLiteral("opening"));
        close();
        return fail(error, message);
    }
    if (!initialise(abs, error)) {
        close();
        return false;
    }
    return true;
}

bool Store::initialise(const QString &abs, QString *error)
{
    const QString what = QStringLiteral("reading the schema version");
    qint64 appId = 0, version = 0, objects = 0;
    if (!m_conn.queryInt(QStringLiteral("PRAGMA application_id"), what, &appId, error) ||
        !m_conn.queryInt(QStringLiteral("PRAGMA user_version"), what, &version, error) ||
        !m_conn.queryInt(QStringLiteral("SELECT COUNT(*) FROM sqlite_master"), what, &objects,
                         error))
        return false;
    if (appId != Schema::ApplicationId) {
        if (objects != 0 || version != 0 || appId != 0) {
            QStringList tables;
            QSqlQuery q = m_conn.query();
            if (q.exec(QStringLiteral("SELECT name FROM sqlite_master WHERE type = 'table' "
                                      "ORDER BY name LIMIT 6")))
                while (q.next())
                    tables << q.value(0).toString();
            return fail(error,
                        QStringLiteral("%1 is an SQLite database of another application "
                                       "(application_id %2, user_version %3, tables: %4), not "
                                       "a JouleBench database; choose another --db")
                            .arg(abs)
                            .arg(appId)
                            .arg(version)
                            .arg(tables.isEmpty() ? QStringLiteral("none")
                                                  : tables.join(QStringLiteral(", "))));
        }
        if (isReadOnly())
            return fail(error, QStringLiteral("database %1 is an empty SQLite file without "
                                              "JouleBench data; open it read-write to set it "
                                              "up, or choose another file")
                                   .arg(abs));
    }
    if (version > Schema::CurrentVersion)
        return fail(error, QStringLiteral("database %1 was written by a newer JouleBench "
                                          "(schema %2, this build knows %3); update JouleBench")
                               .arg(abs)
                               .arg(version)
                               .arg(Schema::CurrentVersion));
    if (isReadOnly() && version < Schema::CurrentVersion)
        return fail(error, QStringLiteral("database %1 has schema %2, older than this build's "
                                          "%3; open it once read-write (e.g. with a run or "
                                          "merge) to upgrade it, viewers never modify files")
                               .arg(abs)
                               .arg(version)
                               .arg(Schema::CurrentVersion));
    if (!m_conn.execSql(QStringLiteral("PRAGMA foreign_keys = ON"),
                        QStringLiteral("enabling foreign keys"), error))
        return false;
    if (isReadOnly())
        return true;

    // Upgrade before switching to WAL, so a failed upgrade leaves the file byte-identical.
    if (version < Schema::CurrentVersion && !Schema::migrate(m_conn, int(version), error))
        return false;
    QSqlQuery q = m_conn.query();
    if (!q.exec(QStringLiteral("PRAGMA journal_mode = WAL")) || !q.next())
        return fail(error, m_conn.describe(q.lastError(), QStringLiteral("switching to WAL")));
    const QString journal = q.value(0).toString();
    q.finish();
    if (journal.compare(QStringLiteral("wal"), Qt::CaseInsensitive) != 0)
        qCWarning(lcDatabase).noquote()
            << "database" << abs << "stays in journal mode" << journal
            << "(WAL unavailable, e.g. on a network file system); viewers will block writers";
    // WAL + NORMAL: a crash of the process loses nothing committed; a power cut may lose the
    // last transactions but never corrupts the file.
    if (!m_conn.execSql(QStringLiteral("PRAGMA synchronous = NORMAL"),
                        QStringLiteral("setting synchronous mode"), error))
        return false;
    const std::optional<int> recovered = recoverInterruptedRuns(error);
    if (!recovered)
        return false;
    m_recoveredAtOpen = *recovered;
    return true;
}

void Store::close()
{
    if (!m_writers.isEmpty()) {
        // Writers normally die before the Store; flush what they hold and detach them.
        const QList<SampleWriter *> writers = m_writers;
        for (SampleWriter *w : writers) {
            QString err;
            if (!w->flush(&err))
                qCWarning(lcDatabase).noquote() << err;
            w->detach();
        }
        m_writers.clear();
    }
    if (m_connectionName.isEmpty())
        return;
    m_conn.db.close();
    m_conn.db = QSqlDatabase();
    QSqlDatabase::removeDatabase(m_connectionName);
    m_connectionName.clear();
    m_thread = nullptr;
    m_recoveredAtOpen = 0;
}

bool Store::checkUsable(QString *error) const
{
    if (!isOpen())
        return fail(error, QStringLiteral("no database is open; open one first (--db FILE)"));
    if (QThread::currentThread() != m_thread)
        return fail(error, QStringLiteral("database %1 was opened on another thread; open a "
                                          "Store per thread (SQLite connections are not "
                                          "shared between threads)")
                               .arg(m_conn.path));
    return true;
}

bool Store::checkWritable(const QString &what, QString *error) const
{
    if (!checkUsable(error))
        return false;
    if (isReadOnly())
        return fail(error, QStringLiteral("%1 failed: database %2 is open read-only (as a "
                                          "viewer); open it read-write to change it")
                               .arg(what, m_conn.path));
    return true;
}

// --- experiments ------------------------------------------------------------------------------

std::optional<qint64> Store::createExperiment(const QString &name, const QByteArray &planJson,
                                              const QString &planHash, QString *error)
{
    const QString what = QStringLiteral("creating experiment '%1'").arg(name);
    if (!checkWritable(what, error))
        return std::nullopt;
    if (planHash.isEmpty()) {
        fail(error, QStringLiteral("cannot create experiment '%1' in %2: the plan hash is "
                                   "empty; pass the hash of the plan")
                        .arg(name, m_conn.path));
        return std::nullopt;
    }
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("INSERT INTO experiment (name, plan_json, plan_hash, "
                                       "created) VALUES (?, ?, ?, ?)"),
                        what, error))
        return std::nullopt;
    q.addBindValue(sql::text(name));
    q.addBindValue(QString::fromUtf8(planJson));
    q.addBindValue(planHash);
    q.addBindValue(sql::nowUtc());
    if (!m_conn.exec(q, what, error))
        return std::nullopt;
    return q.lastInsertId().toLongLong();
}

std::optional<ExperimentRecord> Store::queryExperiment(const QString &where, const QVariant &arg,
                                                       const QString &what, QString *error) const
{
    if (!checkUsable(error))
        return std::nullopt;
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("SELECT id, name, plan_json, plan_hash, created FROM "
                                       "experiment ") +
                            where,
                        what, error))
        return std::nullopt;
    if (arg.isValid())
        q.addBindValue(arg);
    if (!m_conn.exec(q, what, error))
        return std::nullopt;
    if (!q.next()) {
        if (q.lastError().isValid())
            fail(error, m_conn.describe(q.lastError(), what));
        else
            fail(error, QStringLiteral("database %1 has no %2").arg(m_conn.path, what));
        return std::nullopt;
    }
    ExperimentRecord e;
    e.id = q.value(0).toLongLong();
    e.name = q.value(1).toString();
    e.planJson = q.value(2).toString().toUtf8();
    e.planHash = q.value(3).toString();
    e.created = q.value(4).toString();
    return e;
}

std::optional<ExperimentRecord> Store::experiment(qint64 experimentId, QString *error) const
{
    return queryExperiment(
        QStringLiteral("WHERE id = ?"), experimentId,
        QStringLiteral("experiment %1 (see the experiment list)").arg(experimentId), error);
}

std::optional<ExperimentRecord> Store::lastExperiment(QString *error) const
{
    return queryExperiment(QStringLiteral("ORDER BY id DESC LIMIT 1"), QVariant(),
                           QStringLiteral("experiment yet; run one first"), error);
}

std::optional<QList<ExperimentRecord>> Store::listExperiments(QString *error) const
{
    return experimentsByPlanHash(QString(), error);
}

std::optional<QList<ExperimentRecord>> Store::experimentsByPlanHash(const QString &planHash,
                                                                    QString *error) const
{
    const QString what = QStringLiteral("listing experiments");
    if (!checkUsable(error))
        return std::nullopt;
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("SELECT id, name, plan_json, plan_hash, created FROM "
                                       "experiment WHERE ? IS NULL OR plan_hash = ? "
                                       "ORDER BY id"),
                        what, error))
        return std::nullopt;
    const QVariant hash = planHash.isNull() ? QVariant() : QVariant(planHash);
    q.addBindValue(hash);
    q.addBindValue(hash);
    if (!m_conn.exec(q, what, error))
        return std::nullopt;
    QList<ExperimentRecord> out;
    while (q.next()) {
        ExperimentRecord e;
        e.id = q.value(0).toLongLong();
        e.name = q.value(1).toString();
        e.planJson = q.value(2).toString().toUtf8();
        e.planHash = q.value(3).toString();
        e.created = q.value(4).toString();
        out << e;
    }
    if (q.lastError().isValid()) {
        fail(error, m_conn.describe(q.lastError(), what));
        return std::nullopt;
    }
    return out;
}

// --- runs -------------------------------------------------------------------------------------

std::optional<qint64> Store::createRun(qint64 experimentId, const RunKey &key,
                                       const QByteArray &configJson, const QByteArray &envJson,
                                       QString *error)
{
    const QString what = QStringLiteral("creating run '%1' (repetition %2) of experiment %3")
                             .arg(key.variant)
                             .arg(key.repetition)
                             .arg(experimentId);
    if (!checkWritable(what, error))
        return std::nullopt;
    if (key.configKey.isEmpty()) {
        fail(error, QStringLiteral("%1 in %2 failed: the configuration key is empty")
                        .arg(what, m_conn.path));
        return std::nullopt;
    }
    qint64 exists = 0;
    if (!m_conn.queryInt(
            QStringLiteral("SELECT COUNT(*) FROM experiment WHERE id = %1").arg(experimentId), what,
            &exists, error))
        return std::nullopt;
    if (!exists) {
        fail(error, QStringLiteral("%1 failed: database %2 has no experiment %3")
                        .arg(what, m_conn.path)
                        .arg(experimentId));
        return std::nullopt;
    }
    const RunOwner owner = ProcessIdentity::current();
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("INSERT INTO run (experiment_id, variant, chain_json, "
                                       "backend, repetition, config_key, config_json, env_json, "
                                       "status, started, owner_pid, owner_host, owner_token) "
                                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)"),
                        what, error))
        return std::nullopt;
    q.addBindValue(experimentId);
    q.addBindValue(sql::text(key.variant));
    q.addBindValue(
        QString::fromUtf8(key.chainJson.isEmpty() ? QByteArrayLiteral("[]") : key.chainJson));
    q.addBindValue(sql::text(key.backend));
    q.addBindValue(key.repetition);
    q.addBindValue(key.configKey);
    q.addBindValue(QString::fromUtf8(configJson.isEmpty() ? QByteArrayLiteral("{}") : configJson));
    q.addBindValue(QString::fromUtf8(envJson.isEmpty() ? QByteArrayLiteral("{}") : envJson));
    q.addBindValue(sql::nowUtc());
    q.addBindValue(owner.pid);
    q.addBindValue(sql::text(owner.host));
    q.addBindValue(sql::text(owner.token));
    if (!m_conn.exec(q, what, error))
        return std::nullopt;
    return q.lastInsertId().toLongLong();
}

RunRecord Store::runFromQuery(const QSqlQuery &q) const
{
    RunRecord r;
    r.id = q.value(0).toLongLong();
    r.experimentId = q.value(1).toLongLong();
    r.key.variant = q.value(2).toString();
    r.key.chainJson = q.value(3).toString().toUtf8();
    r.key.backend = q.value(4).toString();
    r.key.repetition = q.value(5).toInt();
    r.key.configKey = q.value(6).toString();
    r.configJson = q.value(7).toString().toUtf8();
    r.envJson = q.value(8).toString().toUtf8();
    r.status = runStatusFromName(q.value(9).toString()).value_or(RunStatus::Failed);
    r.flags = flagsFromJson(q.value(10).toString());
    r.error = q.value(11).toString();
    r.started = q.value(12).toString();
    r.ended = q.value(13).toString();
    r.owner.pid = q.value(14).toLongLong();
    r.owner.host = q.value(15).toString();
    r.owner.token = q.value(16).toString();
    if (r.status == RunStatus::Running &&
        ProcessIdentity::liveness(r.owner) == ProcessIdentity::Liveness::Dead) {
        // Never show a dead run as running (or completed); a read-write open records it.
        r.status = RunStatus::Interrupted;
        r.statusDerived = true;
        r.error = interruptedText(r.owner);
    }
    return r;
}

std::optional<QList<RunRecord>> Store::queryRuns(const QString &where, qint64 arg,
                                                 QString *error) const
{
    const QString what = QStringLiteral("reading runs");
    if (!checkUsable(error))
        return std::nullopt;
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(
            q, QStringLiteral("SELECT ") + RunColumns + QStringLiteral(" FROM run ") + where, what,
            error))
        return std::nullopt;
    q.addBindValue(arg);
    if (!m_conn.exec(q, what, error))
        return std::nullopt;
    QList<RunRecord> out;
    while (q.next())
        out << runFromQuery(q);
    if (q.lastError().isValid()) {
        fail(error, m_conn.describe(q.lastError(), what));
        return std::nullopt;
    }
    return out;
}

std::optional<QList<RunRecord>> Store::listRuns(qint64 experimentId, QString *error) const
{
    return queryRuns(QStringLiteral("WHERE experiment_id = ? ORDER BY id"), experimentId, error);
}

std::optional<RunRecord> Store::run(qint64 runId, QString *error) const
{
    auto runs = queryRuns(QStringLiteral("WHERE id = ?"), runId, error);
    if (!runs)
        return std::nullopt;
    if (runs->isEmpty()) {
        fail(error, QStringLiteral("database %1 has no run %2; list the runs of the "
                                   "experiment to find its id")
                        .arg(m_conn.path)
                        .arg(runId));
        return std::nullopt;
    }
    return runs->first();
}

std::optional<QList<RunKey>> Store::completedRunKeys(qint64 experimentId, QString *error) const
{
    auto runs = queryRuns(QStringLiteral("WHERE experiment_id = ? AND status = 'completed' "
                                         "ORDER BY id"),
                          experimentId, error);
    if (!runs)
        return std::nullopt;
    QList<RunKey> keys;
    for (const RunRecord &r : std::as_const(*runs))
        keys << r.key;
    return keys;
}

bool Store::checkRunning(qint64 runId, const QString &what, QString *error) const
{
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q, QStringLiteral("SELECT status FROM run WHERE id = ?"), what, error))
        return false;
    q.addBindValue(runId);
    if (!m_conn.exec(q, what, error))
        return false;
    if (!q.next())
        return fail(error, QStringLiteral("%1 failed: database %2 has no run %3")
                               .arg(what, m_conn.path)
                               .arg(runId));
    const QString status = q.value(0).toString();
    if (status != QLatin1String("running"))
        return fail(error, QStringLiteral("%1 failed: run %2 in %3 is already %4 (a run ends "
                                          "once; start a new run instead)")
                               .arg(what)
                               .arg(runId)
                               .arg(m_conn.path, status));
    return true;
}

bool Store::flushWriters(qint64 runId, QString *error)
{
    for (SampleWriter *w : std::as_const(m_writers))
        if (w->runId() == runId && !w->flush(error))
            return false;
    return true;
}

bool Store::computeRunEnergy(qint64 runId, QString *error)
{
    return m_conn.execSql(Schema::runEnergySql(QStringLiteral("d.run_id = %1").arg(runId)),
                          QStringLiteral("computing the aggregates of run %1").arg(runId), error);
}

bool Store::setRunStatus(qint64 runId, RunStatus status, QString *error)
{
    const std::optional<RunRecord> r = run(runId, error);
    if (!r)
        return false;
    return finishRun(runId, status, r->flags, r->error, error);
}

bool Store::finishRun(qint64 runId, RunStatus status, const QStringList &flags,
                      const QString &errorText, QString *error)
{
    const QString what =
        QStringLiteral("ending run %1 as %2").arg(runId).arg(runStatusName(status));
    if (!checkWritable(what, error))
        return false;
    if (status == RunStatus::Running)
        return fail(error, QStringLiteral("%1 failed: a run can only move from running to "
                                          "completed, failed, cancelled or interrupted")
                               .arg(what));
    if (!flushWriters(runId, error))
        return false;
    sql::WriteTransaction txn(m_conn);
    if (!txn.begin(what, error) || !checkRunning(runId, what, error))
        return false;
    QSqlQuery q = m_conn.query();
    if (!m_conn.prepare(q,
                        QStringLiteral("UPDATE run SET status = ?, flags = ?, error = ?, "
                                       "ended = ? WHERE id = ?"),
                        what, error))
        return false;
    q.addBindValue(runStatusName(status));
    q.addBindValue(flagsToJson(flags));
    q.addBindValue(sql::text(errorText));
    q.addBindValue(sql::nowUtc());
    q.addBindValue(runId);
    if (!m_conn.exec(q, what, error) || !computeRunEnergy(runId, error))
        return false;
    return txn.commit(error);
}

std::optional<int> Store::recoverInterruptedRuns(QString *error)
{
    const QString what = QStringLiteral("marking runs of dead processes as interrupted");
    if (!checkWritable(what, error))
        return std::nullopt;
    QList<QPair<qint64, RunOwner>> dead;
    {
        QSqlQuery q = m_conn.query();
        if (!q.exec(QStringLiteral("SELECT id, owner_pid, owner_host, owner_token FROM run "
                                   "WHERE status = 'running'"))) {
            fail(error, m_conn.describe(q.lastError(), what));
            return std::nullopt;
        }
        while (q.next()) {
            RunOwner owner{q.value(1).toLongLong(), q.value(2).toString(), q.value(3).toString()};
            switch (ProcessIdentity::liveness(owner)) {
            case ProcessIdentity::Liveness::Dead:
                dead.append({q.value(0).toLongLong(), owner});
                break;
            case ProcessIdentity::Liveness::Unknown:
                qCWarning(lcDatabase).noquote()
                    << "run" << q.value(0).toLongLong() << "in" << m_conn.path
                    << "is marked running by host" << owner.host
                    << "and cannot be checked from here; it stays running";
                break;
            case ProcessIdentity::Liveness::Alive:
                break;
            }
        }
    }
    if (dead.isEmpty())
        return 0;
    sql::WriteTransaction txn(m_conn);
    if (!txn.begin(what, error))
        return std::nullopt;
    int marked = 0;
    for (const auto &[runId, owner] : std::as_const(dead)) {
        QSqlQuery q = m_conn.query();
        if (!m_conn.prepare(q,
                            QStringLiteral("UPDATE run SET status = 'interrupted', error = ?, "
                                           "ended = ? WHERE id = ? AND status = 'running'"),
                            what, error))
            return std::nullopt;
        q.addBindValue(interruptedText(owner));
        q.addBindValue(sql::nowUtc());
        q.addBindValue(runId);
        if (!m_conn.exec(q, what, error))
            return std::nullopt;
        if (q.numRowsAffected() == 1) {
            if (!computeRunEnergy(runId, error))
                return std::nullopt;
            ++marked;
            qCInfo(lcDatabase).noquote()
                << "run" << runId << "in" << m_conn.path << "marked interrupted (owner pid"
                << owner.pid << "is gone)";
        }
    }
    if (!txn.commit(error))
        return std::nullopt;
    return marked;
}

} // namespace jb::db
