// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QString>
#include <QStringList>

/// Internal helpers of the database module (not for use outside database/ and its tests):
/// statement execution with error messages that name the file and the fix, write
/// transactions, and SQL scripts.
namespace jb::db::sql {

/// SQLite primary result codes the messages distinguish.
enum Code : int {
    Busy = 5,
    Locked = 6,
    ReadOnly = 8,
    Corrupt = 11,
    Full = 13,
    CantOpen = 14,
    Constraint = 19,
    NotADb = 26,
};

/// The SQLite primary result code of a Qt Sql error (0 when unknown).
int sqliteCode(const QSqlError &error);

/// Current time as ISO 8601 UTC with milliseconds.
QString nowUtc();

/// Sets *error (when error is not null) and returns false.
inline bool fail(QString *error, const QString &message)
{
    if (error)
        *error = message;
    return false;
}

/// A string for a NOT NULL text column: a null QString binds as SQL NULL, this as ''.
inline QVariant text(const QString &s)
{
    return s.isNull() ? QVariant(QString(QLatin1String(""))) : QVariant(s);
}

/// One open connection plus what is needed to word its errors.
/// Threads: used only on the thread that opened the connection.
struct Connection
{
    QSqlDatabase db;
    QString path;          ///< absolute path of the database file, for messages
    int busyTimeoutMs = 0; ///< for "waited N s" in lock messages

    /// "database <path> is locked by another writer (waited 5 s) while <what>; ..." and the
    /// like: a sentence naming the file, what failed and the fix.
    QString describe(const QSqlError &error, const QString &what) const;
    /// A forward-only query on this connection.
    QSqlQuery query() const;
    bool prepare(QSqlQuery &query, const QString &sql, const QString &what, QString *error) const;
    bool exec(QSqlQuery &query, const QString &what, QString *error) const;
    /// Runs one statement without parameters.
    bool execSql(const QString &sql, const QString &what, QString *error) const;
    /// Runs one statement that yields one integer (PRAGMA user_version, COUNT(*), ...).
    bool queryInt(const QString &sql, const QString &what, qint64 *value, QString *error) const;
};

/// BEGIN IMMEDIATE ... COMMIT, rolled back on destruction unless committed. IMMEDIATE takes
/// the write lock up front, so a busy database waits for the busy timeout here and fails with
/// the "locked" message instead of failing half-way.
class WriteTransaction
{
public:
    explicit WriteTransaction(const Connection &connection);
    ~WriteTransaction();
    WriteTransaction(const WriteTransaction &) = delete;
    WriteTransaction &operator=(const WriteTransaction &) = delete;

    bool begin(const QString &what, QString *error);
    bool commit(QString *error);
    void rollback();

private:
    const Connection &m_connection;
    QString m_what;
    bool m_active = false;
};

/// Splits an SQL script into statements at ';' outside quotes, brackets and comments.
QStringList splitStatements(const QString &script);
/// Runs every statement of a script in order (no transaction of its own).
bool execScript(const Connection &connection, const QString &script, const QString &what,
                QString *error);

} // namespace jb::db::sql
