// SPDX-License-Identifier: GPL-3.0-or-later
#include "rapl_perf_meter.h"

#include "sysfs_file.h"

#include <QDir>
#include <QFileInfo>

#include <cerrno>
#include <cstring>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace jb {

namespace {

// Places the low bits of value into the bit ranges of a format spec such as "config:0-7" or
// "config:0-7,32-35".
std::optional<quint64> placeBits(quint64 value, const QString &format, QString *why)
{
    const qsizetype colon = format.indexOf(QLatin1Char(':'));
    if (colon < 0 || format.left(colon) != QLatin1String("config")) {
        *why = QStringLiteral("format '%1' is not a 'config:' field").arg(format);
        return std::nullopt;
    }
    quint64 config = 0;
    int used = 0;
    for (const QString &range : format.mid(colon + 1).split(QLatin1Char(','))) {
        const QStringList ends = range.split(QLatin1Char('-'));
        bool okLo = false, okHi = true;
        const int lo = ends.value(0).toInt(&okLo);
        const int hi = ends.size() > 1 ? ends.value(1).toInt(&okHi) : lo;
        if (!okLo || !okHi || ends.size() > 2 || lo < 0 || hi < lo || hi > 63) {
            *why = QStringLiteral("format '%1' has a bad bit range '%2'").arg(format, range);
            return std::nullopt;
        }
        const int width = hi - lo + 1;
        const quint64 mask = width >= 64 ? ~quint64(0) : ((quint64(1) << width) - 1);
        const quint64 part = used >= 64 ? 0 : (value >> used) & mask;
        config |= part << lo;
        used += width;
    }
    if (used < 64 && (value >> used) != 0) {
        *why = QStringLiteral("value 0x%1 does not fit format '%2'").arg(value, 0, 16).arg(format);
        return std::nullopt;
    }
    return config;
}

QString paranoidText()
{
    QString value, ignored;
    if (!readTextFile(QStringLiteral("/proc/sys/kernel/perf_event_paranoid"), &value, &ignored))
        return QStringLiteral("unknown");
    return value;
}

long perfEventOpen(perf_event_attr *attr, int cpu)
{
    return ::syscall(SYS_perf_event_open, attr, -1 /* any process */, cpu, -1 /* no group */,
                     PERF_FLAG_FD_CLOEXEC);
}

} // namespace

QString RaplPerfMeter::defaultRoot()
{
    const QString env = qEnvironmentVariable("JOULEBENCH_PERF_EVENT_ROOT");
    return env.isEmpty() ? QStringLiteral("/sys/bus/event_source/devices/power") : env;
}

std::optional<QList<int>> RaplPerfMeter::parseCpuList(const QString &text)
{
    QList<int> cpus;
    const QString trimmed = text.trimmed();
    if (trimmed.isEmpty())
        return std::nullopt;
    for (const QString &part : trimmed.split(QLatin1Char(','))) {
        const QStringList ends = part.split(QLatin1Char('-'));
        bool ok1 = false, ok2 = true;
        const int a = ends.value(0).toInt(&ok1);
        const int b = ends.size() > 1 ? ends.value(1).toInt(&ok2) : a;
        if (!ok1 || !ok2 || ends.size() > 2 || a < 0 || b < a)
            return std::nullopt;
        for (int c = a; c <= b; ++c)
            cpus.append(c);
    }
    return cpus;
}

std::optional<quint64> RaplPerfMeter::parseEventConfig(const QString &eventText,
                                                       const QString &root, QString *error)
{
    quint64 config = 0;
    const QString text = eventText.trimmed();
    if (text.isEmpty()) {
        *error = QStringLiteral("empty event description");
        return std::nullopt;
    }
    for (const QString &term : text.split(QLatin1Char(','))) {
        const qsizetype eq = term.indexOf(QLatin1Char('='));
        const QString key = (eq < 0 ? term : term.left(eq)).trimmed();
        const QString valueText = eq < 0 ? QStringLiteral("1") : term.mid(eq + 1).trimmed();
        bool ok = false;
        const quint64 value = valueText.toULongLong(&ok, 0); // 0x.. hex or decimal
        if (key.isEmpty() || !ok) {
            *error = QStringLiteral("term '%1' of '%2' is not key=number").arg(term, text);
            return std::nullopt;
        }
        QString format, ignored;
        if (!readTextFile(root + QStringLiteral("/format/") + key, &format, &ignored)) {
            if (key != QLatin1String("event")) {
                *error = QStringLiteral("term '%1' has no format file %2/format/%1").arg(key, root);
                return std::nullopt;
            }
            format = QStringLiteral("config:0-63");
        }
        QString why;
        const std::optional<quint64> placed = placeBits(value, format, &why);
        if (!placed) {
            *error = QStringLiteral("term '%1': %2").arg(term, why);
            return std::nullopt;
        }
        config |= *placed;
    }
    return config;
}

std::optional<RaplPerfMeter::PmuDescription> RaplPerfMeter::describePmu(const QString &root,
                                                                        QString *error)
{
    PmuDescription pmu;
    QString text;
    if (!readTextFile(root + QStringLiteral("/type"), &text, error))
        return std::nullopt;
    bool ok = false;
    pmu.type = text.toInt(&ok);
    if (!ok || pmu.type < 0) {
        *error = QStringLiteral("%1/type holds '%2', not a PMU type number").arg(root, text);
        return std::nullopt;
    }
    QString cpumask, ignored;
    if (readTextFile(root + QStringLiteral("/cpumask"), &cpumask, &ignored)) {
        const std::optional<QList<int>> cpus = parseCpuList(cpumask);
        if (!cpus) {
            *error = QStringLiteral("%1/cpumask holds '%2', not a CPU list").arg(root, cpumask);
            return std::nullopt;
        }
        pmu.cpus = *cpus;
    } else {
        pmu.cpus = {0};
    }

    const QString eventsDir = root + QStringLiteral("/events");
    const QStringList names = QDir(eventsDir).entryList({QStringLiteral("energy-*")},
                                                        QDir::Files | QDir::System, QDir::Name);
    for (const QString &name : names) {
        if (name.contains(QLatin1Char('.')))
            continue; // .scale / .unit companions
        EventDescription ev;
        ev.event = name;
        QString eventText, why;
        if (!readTextFile(eventsDir + QLatin1Char('/') + name, &eventText, error))
            return std::nullopt;
        const std::optional<quint64> config = parseEventConfig(eventText, root, &why);
        if (!config) {
            *error = QStringLiteral("%1/%2: %3").arg(eventsDir, name, why);
            return std::nullopt;
        }
        ev.config = *config;
        QString scaleText;
        if (!readTextFile(eventsDir + QLatin1Char('/') + name + QStringLiteral(".scale"),
                          &scaleText, error))
            return std::nullopt;
        ev.scale = scaleText.toDouble(&ok);
        if (!ok || !(ev.scale > 0)) {
            *error = QStringLiteral("%1/%2.scale holds '%3', not a positive number")
                         .arg(eventsDir, name, scaleText);
            return std::nullopt;
        }
        if (!readTextFile(eventsDir + QLatin1Char('/') + name + QStringLiteral(".unit"), &ev.unit,
                          error))
            return std::nullopt;
        if (ev.unit != QLatin1String("Joules")) {
            *error = QStringLiteral("%1/%2.unit is '%3', expected 'Joules'")
                         .arg(eventsDir, name, ev.unit);
            return std::nullopt;
        }
        pmu.events.append(ev);
    }
    if (pmu.events.isEmpty()) {
        *error = QStringLiteral("no energy-* event in %1").arg(eventsDir);
        return std::nullopt;
    }
    return pmu;
}

QString RaplPerfMeter::domainName(const QString &event, int packageIndex)
{
    const QString package = QStringLiteral("package-%1").arg(packageIndex);
    if (event == QLatin1String("energy-pkg"))
        return package;
    if (event == QLatin1String("energy-cores"))
        return package + QStringLiteral("/core");
    if (event == QLatin1String("energy-gpu"))
        return package + QStringLiteral("/uncore");
    if (event == QLatin1String("energy-ram"))
        return package + QStringLiteral("/dram");
    if (event == QLatin1String("energy-psys"))
        return packageIndex == 0 ? QStringLiteral("psys") : QString();
    return {};
}

MeterStatus RaplPerfMeter::probe(const QString &root)
{
    MeterStatus status;
    status.id = QStringLiteral("rapl-perf");
    status.displayName = QStringLiteral("RAPL via perf_event (%1)").arg(root);
    status.kind = MeterKind::Measured;
    if (!QFileInfo(root).isDir()) {
        status.reason = QStringLiteral("not present: no power PMU at %1 (a VM or CPU without "
                                       "RAPL, or a kernel without the RAPL perf driver)")
                            .arg(root);
        return status;
    }
    QString error;
    const std::optional<PmuDescription> pmu = describePmu(root, &error);
    if (!pmu) {
        status.reason = QStringLiteral("not present: %1").arg(error);
        return status;
    }
    status.present = true;

    std::unique_ptr<RaplPerfMeter> meter(new RaplPerfMeter);
    meter->m_root = root;
    QString firstError;
    for (int p = 0; p < pmu->cpus.size(); ++p) {
        for (const EventDescription &ev : pmu->events) {
            const QString name = domainName(ev.event, p);
            if (name.isEmpty())
                continue;
            DomainStatus ds;
            ds.info.name = name;
            ds.info.kind = MeterKind::Measured;
            ds.info.method = QString::fromLatin1(method::Counter);
            ds.info.source = QStringLiteral("power/%1 on cpu %2").arg(ev.event).arg(pmu->cpus[p]);
            if (name.contains(QLatin1Char('/')) && !name.endsWith(QLatin1String("/dram")))
                ds.info.partOf = name.section(QLatin1Char('/'), 0, 0);

            perf_event_attr attr;
            std::memset(&attr, 0, sizeof attr);
            attr.size = sizeof attr;
            attr.type = static_cast<quint32>(pmu->type);
            attr.config = ev.config;
            const long fd = perfEventOpen(&attr, pmu->cpus[p]);
            if (fd < 0) {
                const int e = errno;
                ds.problem = QStringLiteral("perf_event_open(power/%1, cpu %2) failed: %3")
                                 .arg(ev.event)
                                 .arg(pmu->cpus[p])
                                 .arg(QString::fromLocal8Bit(std::strerror(e)));
                if (e == EACCES || e == EPERM)
                    ds.problem +=
                        QStringLiteral(". kernel.perf_event_paranoid is %1; system-wide events "
                                       "need 0 or less, or CAP_PERFMON. Fix: 'sudo sysctl "
                                       "kernel.perf_event_paranoid=0' (persist it in "
                                       "/etc/sysctl.d/), or run as root")
                            .arg(paranoidText());
                if (firstError.isEmpty())
                    firstError = ds.problem;
                status.domains.append(ds);
                continue;
            }
            Counter c;
            c.info = ds.info;
            c.fd = static_cast<int>(fd);
            c.scale = ev.scale;
            meter->m_counters.push_back(c);
            ds.readable = true;
            status.domains.append(ds);
        }
    }
    if (meter->m_counters.empty()) {
        status.reason = QStringLiteral("not readable: %1").arg(firstError);
        return status;
    }
    if (!meter->start(&error)) {
        status.reason = QStringLiteral("not readable: %1").arg(error);
        return status;
    }
    status.readable = true;
    status.meter = std::shared_ptr<Meter>(meter.release());
    return status;
}

RaplPerfMeter::~RaplPerfMeter()
{
    for (const Counter &c : m_counters)
        ::close(c.fd);
}

QString RaplPerfMeter::displayName() const
{
    return QStringLiteral("RAPL via perf_event (%1)").arg(m_root);
}

QList<DomainInfo> RaplPerfMeter::domains() const
{
    QList<DomainInfo> list;
    for (const Counter &c : m_counters)
        list.append(c.info);
    return list;
}

bool RaplPerfMeter::readCount(const Counter &c, quint64 *count, QString *error) const
{
    ssize_t n;
    do {
        n = ::read(c.fd, count, sizeof *count);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof *count)) {
        if (error)
            *error = QStringLiteral("reading perf counter %1 (%2) failed: %3")
                         .arg(c.info.name, c.info.source,
                              n < 0 ? QString::fromLocal8Bit(std::strerror(errno))
                                    : QStringLiteral("short read"));
        return false;
    }
    return true;
}

bool RaplPerfMeter::start(QString *error)
{
    for (Counter &c : m_counters) {
        if (!readCount(c, &c.startCount, error))
            return false;
    }
    return true;
}

bool RaplPerfMeter::read(std::span<double> joules, QString *error)
{
    Q_ASSERT(joules.size() == m_counters.size());
    for (size_t i = 0; i < m_counters.size(); ++i) {
        quint64 count = 0;
        if (!readCount(m_counters[i], &count, error))
            return false;
        joules[i] = static_cast<double>(count - m_counters[i].startCount) * m_counters[i].scale;
    }
    return true;
}

} // namespace jb
