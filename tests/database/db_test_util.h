// SPDX-License-Identifier: GPL-3.0-or-later
// Helpers shared by the database tests: fixtures, plain SQLite connections beside the Store.
#pragma once

#include "database/sql_util.h"
#include "database/store.h"

#include <QAtomicInteger>
#include <QFile>
#include <QSqlDatabase>
#include <QSqlQuery>
#include <QVariant>

namespace jbtest {

inline QString fixturePath(const QString &name)
{
    return QStringLiteral(JB_TEST_DATA_DIR "/db/") + name;
}

/// A plain QSQLITE connection (no Store logic), for setting up and inspecting files.
class RawDb
{
public:
    explicit RawDb(const QString &path, int busyMs = 0)
    {
        static QAtomicInteger<int> counter;
        m_name = QStringLiteral("raw-%1").arg(counter.fetchAndAddRelaxed(1));
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_name);
        db.setDatabaseName(path);
        db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=%1").arg(busyMs));
        db.open();
        m_conn.db = db;
        m_conn.path = path;
    }
    ~RawDb()
    {
        m_conn.db.close();
        m_conn.db = QSqlDatabase();
        QSqlDatabase::removeDatabase(m_name);
    }
    bool exec(const QString &sql, QString *error = nullptr)
    {
        return m_conn.execSql(sql, QStringLiteral("test statement"), error);
    }
    bool script(const QString &sql, QString *error)
    {
        return jb::db::sql::execScript(m_conn, sql, QStringLiteral("test script"), error);
    }
    QVariant value(const QString &sql)
    {
        QSqlQuery q(m_conn.db);
        if (!q.exec(sql) || !q.next())
            return {};
        return q.value(0);
    }
    QStringList column(const QString &sql)
    {
        QStringList out;
        QSqlQuery q(m_conn.db);
        if (q.exec(sql))
            while (q.next())
                out << q.value(0).toString();
        return out;
    }

private:
    QString m_name;
    jb::db::sql::Connection m_conn;
};

/// Creates dbFile from an SQL fixture file.
inline bool loadSqlFixture(const QString &sqlFile, const QString &dbFile, QString *error)
{
    QFile f(sqlFile);
    if (!f.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read fixture %1").arg(sqlFile);
        return false;
    }
    RawDb db(dbFile);
    // One transaction: statement by statement, every commit would wait for the disk.
    return db.exec(QStringLiteral("BEGIN"), error) &&
           db.script(QString::fromUtf8(f.readAll()), error) &&
           db.exec(QStringLiteral("COMMIT"), error);
}

inline QByteArray fileBytes(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

inline jb::db::RunKey key(const QString &config, int repetition,
                          const QString &variant = QStringLiteral("lenet5"))
{
    jb::db::RunKey k;
    k.variant = variant;
    k.chainJson = QByteArrayLiteral("[]");
    k.backend = QStringLiteral("cpu:2");
    k.repetition = repetition;
    k.configKey = config;
    return k;
}

} // namespace jbtest
