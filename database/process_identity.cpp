// SPDX-License-Identifier: GPL-3.0-or-later
#include "process_identity.h"

#include <QFile>
#include <QSysInfo>

#include <cerrno>
#include <csignal>
#include <sys/types.h>
#include <unistd.h>

namespace jb::db {

namespace {

QString bootId()
{
    static const QString id = [] {
        QFile f(QStringLiteral("/proc/sys/kernel/random/boot_id"));
        if (!f.open(QIODevice::ReadOnly))
            return QString();
        return QString::fromLatin1(f.readAll().trimmed());
    }();
    return id;
}

struct ProcStat
{
    bool exists = false;
    bool procAvailable = false;
    char state = '?';
    QByteArray startTime; ///< field 22, clock ticks since boot
};

ProcStat readProcStat(qint64 pid)
{
    ProcStat st;
    st.procAvailable = QFile::exists(QStringLiteral("/proc/self/stat"));
    if (!st.procAvailable)
        return st;
    QFile f(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!f.open(QIODevice::ReadOnly))
        return st;
    const QByteArray line = f.readAll();
    // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
    const qsizetype close = line.lastIndexOf(')');
    if (close < 0)
        return st;
    const QList<QByteArray> fields = line.mid(close + 2).split(' ');
    // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
    if (fields.size() < 20)
        return st;
    st.exists = true;
    st.state = fields[0].isEmpty() ? '?' : fields[0].at(0);
    st.startTime = fields[19];
    return st;
}

QString tokenOf(const ProcStat &st)
{
    if (!st.exists)
        return {};
    return bootId() + u'/' + QString::fromLatin1(st.startTime);
}

} // namespace

QString ProcessIdentity::hostName()
{
    return QSysInfo::machineHostName();
}

RunOwner ProcessIdentity::ofPid(qint64 pid)
{
    RunOwner owner;
    owner.pid = pid;
    owner.host = hostName();
    owner.token = tokenOf(readProcStat(pid));
    return owner;
}

RunOwner ProcessIdentity::current()
{
    return ofPid(static_cast<qint64>(::getpid()));
}

ProcessIdentity::Liveness ProcessIdentity::liveness(const RunOwner &owner)
{
    if (owner.host != hostName())
        return Liveness::Unknown;
    if (owner.pid <= 0)
        return Liveness::Dead;
    const ProcStat st = readProcStat(owner.pid);
    if (!st.procAvailable) {
        // No /proc (not Linux): the pid alone decides; pid reuse cannot be detected.
        if (::kill(static_cast<pid_t>(owner.pid), 0) == 0 || errno == EPERM)
            return Liveness::Alive;
        return Liveness::Dead;
    }
    if (!st.exists || st.state == 'Z' || st.state == 'X')
        return Liveness::Dead;
    if (!owner.token.isEmpty() && owner.token != tokenOf(st))
        return Liveness::Dead; // the pid now belongs to another process (or another boot)
    return Liveness::Alive;
}

} // namespace jb::db
