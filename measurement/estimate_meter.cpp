// SPDX-License-Identifier: GPL-3.0-or-later
#include "estimate_meter.h"

#include <algorithm>
#include <cerrno>
#include <unistd.h>

namespace jb {

double EstimateMeter::defaultTdpW()
{
    bool ok = false;
    const double v = qEnvironmentVariable("JOULEBENCH_ESTIMATE_TDP_W").toDouble(&ok);
    return ok && v > 0 ? v : kDefaultTdpW;
}

QString EstimateMeter::defaultProcStat()
{
    const QString env = qEnvironmentVariable("JOULEBENCH_PROC_STAT");
    return env.isEmpty() ? QStringLiteral("/proc/stat") : env;
}

std::optional<EstimateMeter::CpuTimes> EstimateMeter::parseProcStat(std::string_view text,
                                                                    QString *error)
{
    if (text.substr(0, 4) != "cpu ") {
        if (error)
            *error = QStringLiteral("does not start with the aggregate 'cpu ' line");
        return std::nullopt;
    }
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(4, eol == std::string_view::npos ? text.npos : eol - 4);
    quint64 f[8] = {};
    int n = 0;
    while (n < 8) {
        const size_t start = line.find_first_not_of(' ');
        if (start == std::string_view::npos)
            break;
        line = line.substr(start);
        const size_t end = line.find(' ');
        const std::optional<quint64> v = parseUInt64(line.substr(0, end));
        if (!v) {
            if (error)
                *error = QStringLiteral("field %1 of the 'cpu' line is not a number").arg(n + 1);
            return std::nullopt;
        }
        f[n++] = *v;
        if (end == std::string_view::npos)
            break;
        line = line.substr(end);
    }
    if (n < 4) {
        if (error)
            *error = QStringLiteral("the 'cpu' line has %1 fields, at least 4 expected").arg(n);
        return std::nullopt;
    }
    // user nice system idle iowait irq softirq steal (guest time is already inside user)
    CpuTimes t;
    t.busy = f[0] + f[1] + f[2] + f[5] + f[6];
    t.total = t.busy + f[3] + f[4] + f[7];
    return t;
}

double EstimateMeter::energyJ(double tdpW, const CpuTimes &before, const CpuTimes &after,
                              double seconds)
{
    if (after.total <= before.total || after.busy < before.busy)
        return 0;
    const double busy = static_cast<double>(after.busy - before.busy);
    const double total = static_cast<double>(after.total - before.total);
    return tdpW * std::clamp(busy / total, 0.0, 1.0) * seconds;
}

MeterStatus EstimateMeter::probe(double tdpW, const QString &procStat)
{
    MeterStatus status;
    status.id = QStringLiteral("estimate");
    status.displayName = QStringLiteral("CPU-time estimate (TDP %1 W x busy fraction)").arg(tdpW);
    status.kind = MeterKind::Estimate;
    status.present = true;

    DomainStatus ds;
    ds.info.name = QStringLiteral("cpu");
    ds.info.kind = MeterKind::Estimate;
    ds.info.method = QString::fromLatin1(method::CpuTimeEstimate);
    ds.info.source = procStat;
    ds.info.note =
        QStringLiteral("estimate: TDP %1 W x CPU busy fraction x time, not measured").arg(tdpW);
    if (!(tdpW > 0)) {
        ds.problem = QStringLiteral("TDP must be a positive number of watts, got %1").arg(tdpW);
        status.reason = QStringLiteral("not readable: ") + ds.problem;
        status.domains.append(ds);
        return status;
    }
    std::unique_ptr<EstimateMeter> meter(new EstimateMeter);
    meter->m_tdpW = tdpW;
    QString error;
    if (!meter->m_stat.open(procStat, &error) || !meter->start(&error)) {
        ds.problem = error;
        status.reason = QStringLiteral("not readable: ") + error;
        status.domains.append(ds);
        return status;
    }
    ds.readable = true;
    ds.problem = ds.info.note;
    status.domains.append(ds);
    status.readable = true;
    status.meter = std::shared_ptr<Meter>(meter.release());
    return status;
}

QString EstimateMeter::displayName() const
{
    return QStringLiteral("CPU-time estimate (TDP %1 W x busy fraction)").arg(m_tdpW);
}

QList<DomainInfo> EstimateMeter::domains() const
{
    DomainInfo d;
    d.name = QStringLiteral("cpu");
    d.kind = MeterKind::Estimate;
    d.method = QString::fromLatin1(method::CpuTimeEstimate);
    d.source = m_stat.path();
    d.note =
        QStringLiteral("estimate: TDP %1 W x CPU busy fraction x time, not measured").arg(m_tdpW);
    return {d};
}

double EstimateMeter::counterUpdateIntervalS() const
{
    const long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? 1.0 / static_cast<double>(hz) : 0.01;
}

bool EstimateMeter::readTimes(CpuTimes *times, QString *error) const
{
    char buffer[512]; // the aggregate line comes first and is far shorter
    const long n = m_stat.readRaw(buffer, sizeof buffer);
    if (n < 0) {
        if (error)
            *error = describeReadError(m_stat.path(), errno);
        return false;
    }
    QString why;
    const std::optional<CpuTimes> t =
        parseProcStat(std::string_view(buffer, static_cast<size_t>(n)), &why);
    if (!t) {
        if (error)
            *error = QStringLiteral("%1: %2").arg(m_stat.path(), why);
        return false;
    }
    *times = *t;
    return true;
}

bool EstimateMeter::start(QString *error)
{
    if (!readTimes(&m_base, error))
        return false;
    m_lastTimeS = monotonicSeconds();
    m_busyFraction = 0;
    m_joules = 0;
    return true;
}

bool EstimateMeter::read(std::span<double> joules, QString *error)
{
    Q_ASSERT(joules.size() == 1);
    CpuTimes now;
    if (!readTimes(&now, error))
        return false;
    const double t = monotonicSeconds();
    // The busy fraction since the last read that saw ticks; between reads closer together than
    // one tick (10 ms) the previous fraction is kept, so every interval is charged to its own
    // time and energy never exceeds TDP x time.
    if (now.total > m_base.total && now.busy >= m_base.busy) {
        m_busyFraction = std::clamp(static_cast<double>(now.busy - m_base.busy) /
                                        static_cast<double>(now.total - m_base.total),
                                    0.0, 1.0);
        m_base = now;
    }
    m_joules += m_tdpW * m_busyFraction * (t - m_lastTimeS);
    m_lastTimeS = t;
    joules[0] = m_joules;
    return true;
}

} // namespace jb
