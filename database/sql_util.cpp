// SPDX-License-Identifier: GPL-3.0-or-later
#include "sql_util.h"

#include "database_log.h"

#include <QDateTime>

namespace jb::db::sql {

int sqliteCode(const QSqlError &error)
{
    bool ok = false;
    const int code = error.nativeErrorCode().toInt(&ok);
    return ok ? (code & 0xff) : 0;
}

QString nowUtc()
{
    return QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs);
}

QString Connection::describe(const QSqlError &error, const QString &what) const
{
    const QString text = error.databaseText().isEmpty() ? error.text() : error.databaseText();
    switch (sqliteCode(error)) {
    case Busy:
    case Locked:
        return QStringLiteral("database %1 is locked by another writer (waited %2 s) while %3; "
                              "close the other JouleBench process or use another --db")
            .arg(path, QString::number(busyTimeoutMs / 1000.0), what);
    case ReadOnly:
        return QStringLiteral("database %1 cannot be written while %2 (%3): the file or its "
                              "folder is read-only; fix the permissions or copy the database "
                              "to a writable folder")
            .arg(path, what, text);
    case Corrupt:
        return QStringLiteral("database %1 is damaged (%2) while %3; restore it from a copy or "
                              "try `sqlite3 %1 .recover`")
            .arg(path, text, what);
    case Full:
        return QStringLiteral("the disk holding database %1 is full while %2; free space and "
                              "run again")
            .arg(path, what);
    case CantOpen:
        return QStringLiteral("database %1 cannot be opened while %2 (%3); check that its folder "
                              "exists and is writable")
            .arg(path, what, text);
    case NotADb:
        return QStringLiteral("%1 is not an SQLite database (%2); choose a JouleBench database "
                              "file")
            .arg(path, text);
    default:
        return QStringLiteral("database %1: %2 failed: %3").arg(path, what, text);
    }
}

QSqlQuery Connection::query() const
{
    QSqlQuery q(db);
    q.setForwardOnly(true);
    return q;
}

bool Connection::prepare(QSqlQuery &query, const QString &sql, const QString &what,
                         QString *error) const
{
    query.setForwardOnly(true);
    if (query.prepare(sql))
        return true;
    qCWarning(lcDatabase) << "prepare failed:" << sql << query.lastError().text();
    return fail(error, describe(query.lastError(), what));
}

bool Connection::exec(QSqlQuery &query, const QString &what, QString *error) const
{
    if (query.exec())
        return true;
    return fail(error, describe(query.lastError(), what));
}

bool Connection::execSql(const QString &sql, const QString &what, QString *error) const
{
    QSqlQuery q = query();
    if (q.exec(sql))
        return true;
    return fail(error, describe(q.lastError(), what));
}

bool Connection::queryInt(const QString &sql, const QString &what, qint64 *value,
                          QString *error) const
{
    QSqlQuery q = query();
    if (!q.exec(sql))
        return fail(error, describe(q.lastError(), what));
    if (!q.next()) {
        if (q.lastError().isValid())
            return fail(error, describe(q.lastError(), what));
        return fail(error, QStringLiteral("database %1: %2 returned no row").arg(path, what));
    }
    *value = q.value(0).toLongLong();
    return true;
}

WriteTransaction::WriteTransaction(const Connection &connection) : m_connection(connection) {}

WriteTransaction::~WriteTransaction()
{
    rollback();
}

bool WriteTransaction::begin(const QString &what, QString *error)
{
    m_what = what;
    if (!m_connection.execSql(QStringLiteral("BEGIN IMMEDIATE"), what, error))
        return false;
    m_active = true;
    return true;
}

bool WriteTransaction::commit(QString *error)
{
    if (!m_active)
        return fail(error, QStringLiteral("database %1: commit without a transaction while %2")
                               .arg(m_connection.path, m_what));
    if (!m_connection.execSql(QStringLiteral("COMMIT"), m_what, error)) {
        rollback();
        return false;
    }
    m_active = false;
    return true;
}

void WriteTransaction::rollback()
{
    if (!m_active)
        return;
    m_active = false;
    QString ignored;
    if (!m_connection.execSql(QStringLiteral("ROLLBACK"), m_what, &ignored))
        qCWarning(lcDatabase).noquote() << "rollback failed:" << ignored;
}

QStringList splitStatements(const QString &script)
{
    QStringList out;
    QString current;
    const qsizetype n = script.size();
    for (qsizetype i = 0; i < n; ++i) {
        const QChar c = script.at(i);
        if (c == u'\'' || c == u'"' || c == u'`' || c == u'[') {
            const QChar close = c == u'[' ? QChar(u']') : c;
            current += c;
            for (++i; i < n; ++i) {
                current += script.at(i);
                if (script.at(i) == close) {
                    // Doubled quote inside a literal: keep going.
                    if (close != u']' && i + 1 < n && script.at(i + 1) == close) {
                        current += script.at(++i);
                        continue;
                    }
                    break;
                }
            }
            continue;
        }
        if (c == u'-' && i + 1 < n && script.at(i + 1) == u'-') {
            while (i < n && script.at(i) != u'\n')
                ++i;
            current += u'\n';
            continue;
        }
        if (c == u'/' && i + 1 < n && script.at(i + 1) == u'*') {
            const qsizetype end = script.indexOf(QStringLiteral("*/"), i + 2);
            i = end < 0 ? n : end + 1;
            current += u' ';
            continue;
        }
        if (c == u';') {
            const QString statement = current.trimmed();
            if (!statement.isEmpty())
                out << statement;
            current.clear();
            continue;
        }
        current += c;
    }
    const QString statement = current.trimmed();
    if (!statement.isEmpty())
        out << statement;
    return out;
}

bool execScript(const Connection &connection, const QString &script, const QString &what,
                QString *error)
{
    for (const QString &statement : splitStatements(script)) {
        QSqlQuery q = connection.query();
        if (!q.exec(statement)) {
            qCWarning(lcDatabase).noquote() << "statement failed:" << statement;
            return fail(error, connection.describe(q.lastError(), what));
        }
    }
    return true;
}

} // namespace jb::db::sql
