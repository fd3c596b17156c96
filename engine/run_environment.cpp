// SPDX-License-Identifier: GPL-3.0-or-later
#include "run_environment.h"

#include "jb_revision.h"
#include "measurement/estimate_meter.h"
#include "measurement/sysfs_file.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QRegularExpression>
#include <QSysInfo>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

using namespace Qt::StringLiterals;

namespace jb {

namespace {

// cpu0, cpu1, ... (not cpufreq, cpuidle), sorted by number.
QList<QPair<int, QString>> cpuDirs(const QString &cpuRoot)
{
    static const QRegularExpression re(u"^cpu(\\d+)$"_s);
    QList<QPair<int, QString>> out;
    const QStringList entries = QDir(cpuRoot).entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &e : entries) {
        const QRegularExpressionMatch m = re.match(e);
        if (m.hasMatch())
            out.append({m.captured(1).toInt(), cpuRoot + u'/' + e});
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::optional<QString> readText(const QString &path)
{
    QString text, error;
    if (!readTextFile(path, &text, &error))
        return std::nullopt;
    return text;
}

std::optional<double> readKHzAsMHz(const QString &path)
{
    const std::optional<QString> t = readText(path);
    if (!t)
        return std::nullopt;
    bool ok = false;
    const double khz = t->toDouble(&ok);
    if (!ok)
        return std::nullopt;
    return khz / 1000.0;
}

qint64 memoryTotalBytes()
{
    QFile f(u"/proc/meminfo"_s);
    if (!f.open(QIODevice::ReadOnly))
        return 0;
    // procfs files report size 0, so read until EOF instead of asking atEnd().
    const QList<QByteArray> lines = f.readAll().split('\n');
    for (const QByteArray &line : lines) {
        if (line.startsWith("MemTotal:")) {
            const QList<QByteArray> parts = line.simplified().split(' ');
            return parts.size() >= 2 ? parts.at(1).toLongLong() * 1024 : 0;
        }
    }
    return 0;
}

} // namespace

QString defaultSysCpuRoot()
{
    const QString env = qEnvironmentVariable("JOULEBENCH_SYS_CPU_ROOT");
    return env.isEmpty() ? u"/sys/devices/system/cpu"_s : env;
}

double CpuFrequencyState::meanCurrentMHz() const
{
    if (currentMHz.isEmpty())
        return 0;
    double sum = 0;
    for (double v : currentMHz)
        sum += v;
    return sum / static_cast<double>(currentMHz.size());
}

QJsonObject CpuFrequencyState::toJson() const
{
    QJsonArray cur;
    for (double v : currentMHz)
        cur.append(v);
    QJsonObject o{{u"readable"_s, readable}};
    if (!readable) {
        o.insert(u"note"_s, note);
        return o;
    }
    o.insert(u"governors"_s, QJsonArray::fromStringList(governors));
    o.insert(u"driver"_s, driver);
    o.insert(u"minMHz"_s, minMHz);
    o.insert(u"maxMHz"_s, maxMHz);
    o.insert(u"currentMHz"_s, cur);
    return o;
}

CpuFrequencyState readCpuFrequency(const QString &cpuRoot)
{
    CpuFrequencyState s;
    const auto cpus = cpuDirs(cpuRoot);
    for (const auto &[n, dir] : cpus) {
        const QString f = dir + u"/cpufreq/"_s;
        if (!QFileInfo::exists(f))
            continue;
        s.readable = true;
        if (const auto g = readText(f + u"scaling_governor"_s); g && !s.governors.contains(*g))
            s.governors.append(*g);
        if (s.driver.isEmpty())
            s.driver = readText(f + u"scaling_driver"_s).value_or(QString());
        if (s.minMHz == 0)
            s.minMHz = readKHzAsMHz(f + u"cpuinfo_min_freq"_s).value_or(0);
        if (s.maxMHz == 0)
            s.maxMHz = readKHzAsMHz(f + u"cpuinfo_max_freq"_s).value_or(0);
        if (const auto cur = readKHzAsMHz(f + u"scaling_cur_freq"_s))
            s.currentMHz.append(*cur);
    }
    s.governors.sort();
    if (!s.readable)
        s.note = cpus.isEmpty()
                     ? u"%1 lists no CPUs"_s.arg(cpuRoot)
                     : u"no cpufreq folder under %1/cpu*/ (a VM or a kernel without cpufreq)"_s
                           .arg(cpuRoot);
    return s;
}

ThrottleState readThrottleCounters(const QString &cpuRoot)
{
    ThrottleState s;
    for (const auto &[n, dir] : cpuDirs(cpuRoot)) {
        const QDir t(dir + u"/thermal_throttle"_s);
        if (!t.exists())
            continue;
        const QStringList files =
            t.entryList({u"*_throttle_count"_s}, QDir::Files | QDir::System, QDir::Name);
        for (const QString &f : files) {
            const std::optional<QString> text = readText(t.filePath(f));
            const std::optional<quint64> v =
                text ? parseUInt64(text->toStdString()) : std::optional<quint64>();
            if (!v)
                continue;
            s.events += *v;
            ++s.counters;
        }
    }
    s.readable = s.counters > 0;
    if (!s.readable)
        s.note = u"no readable cpu*/thermal_throttle/*_throttle_count under %1 (a VM, or not "
                 "an Intel CPU)"_s
                     .arg(cpuRoot);
    return s;
}

std::optional<CpuLoadSample> sampleCpuLoad(const QString &procStat, QString *error)
{
    QString text;
    QString why;
    if (!readTextFile(procStat, &text, &why)) {
        if (error)
            *error = why;
        return std::nullopt;
    }
    const QByteArray bytes = text.toLatin1();
    const std::optional<EstimateMeter::CpuTimes> t =
        EstimateMeter::parseProcStat(std::string_view(bytes.constData(), bytes.size()), &why);
    if (!t) {
        if (error)
            *error = u"%1: %2"_s.arg(procStat, why);
        return std::nullopt;
    }
    rusage usage{};
    if (::getrusage(RUSAGE_SELF, &usage) != 0) {
        if (error)
            *error = u"getrusage(RUSAGE_SELF) failed"_s;
        return std::nullopt;
    }
    CpuLoadSample s;
    s.wallS = monotonicSeconds();
    s.busyTicks = t->busy;
    s.ownCpuS = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
    return s;
}

double clockTicksPerSecond()
{
    const long t = ::sysconf(_SC_CLK_TCK);
    return t > 0 ? static_cast<double>(t) : 100.0;
}

double backgroundLoadCores(const CpuLoadSample &a, const CpuLoadSample &b, double ticksPerSecond)
{
    const double wall = b.wallS - a.wallS;
    if (!(wall > 0) || !(ticksPerSecond > 0))
        return std::numeric_limits<double>::quiet_NaN();
    const double busy =
        b.busyTicks >= a.busyTicks ? static_cast<double>(b.busyTicks - a.busyTicks) : 0.0;
    const double others = busy / ticksPerSecond - (b.ownCpuS - a.ownCpuS);
    return std::max(0.0, others / wall);
}

RunConditionsProbe::RunConditionsProbe(QString procStat, QString cpuRoot)
    : m_procStat(std::move(procStat)), m_cpuRoot(std::move(cpuRoot))
{
}

void RunConditionsProbe::start()
{
    m_loadError.clear();
    m_load = sampleCpuLoad(m_procStat, &m_loadError);
    m_throttle = readThrottleCounters(m_cpuRoot);
}

RunConditionsProbe::Result RunConditionsProbe::finish() const
{
    Result r;
    QString error = m_loadError;
    const std::optional<CpuLoadSample> end =
        m_load ? sampleCpuLoad(m_procStat, &error) : std::nullopt;
    r.loadChecked = m_load && end;
    if (r.loadChecked)
        r.backgroundLoadCores = backgroundLoadCores(*m_load, *end, clockTicksPerSecond());
    else
        r.loadError = error;
    const ThrottleState throttle = readThrottleCounters(m_cpuRoot);
    r.throttleReadable = m_throttle.readable && throttle.readable;
    if (r.throttleReadable)
        r.throttleEvents = double(throttle.events) - double(m_throttle.events);
    const CpuFrequencyState freq = readCpuFrequency(m_cpuRoot);
    r.meanFrequencyEndMHz = freq.meanCurrentMHz();
    return r;
}

QJsonArray metersToJson(const QList<std::shared_ptr<Meter>> &meters)
{
    QJsonArray out;
    for (const auto &m : meters) {
        QJsonArray domains;
        for (const DomainInfo &d : m->domains())
            domains.append(QJsonObject{{u"name"_s, d.name},
                                       {u"kind"_s, meterKindName(d.kind)},
                                       {u"method"_s, d.method},
                                       {u"source"_s, d.source},
                                       {u"partOf"_s, d.partOf},
                                       {u"wrapRangeJ"_s, d.wrapRangeJ},
                                       {u"note"_s, d.note}});
        out.append(QJsonObject{{u"id"_s, m->id()},
                               {u"name"_s, m->displayName()},
                               {u"kind"_s, meterKindName(m->kind())},
                               {u"updateIntervalS"_s, m->counterUpdateIntervalS()},
                               {u"domains"_s, domains}});
    }
    return out;
}

QString joulebenchRevision()
{
    return u"%1 (%2)"_s.arg(QStringLiteral(JOULEBENCH_VERSION),
                            QStringLiteral(JOULEBENCH_GIT_REVISION));
}

QJsonObject captureEnvironment(const EnvironmentInputs &in)
{
    utsname u{};
    QString kernel;
    if (::uname(&u) == 0)
        kernel = u"%1 %2 %3 %4"_s.arg(QString::fromLocal8Bit(u.sysname),
                                       QString::fromLocal8Bit(u.release),
                                       QString::fromLocal8Bit(u.version),
                                       QString::fromLocal8Bit(u.machine));
    const ThrottleState throttle = readThrottleCounters(in.cpuRoot);
    const QJsonObject m = in.machine;
    QJsonObject throttleJson{{u"readable"_s, throttle.readable}};
    if (throttle.readable) {
        throttleJson.insert(u"events"_s, static_cast<qint64>(throttle.events));
        throttleJson.insert(u"counters"_s, throttle.counters);
    } else {
        throttleJson.insert(u"note"_s, throttle.note);
    }
    return QJsonObject{
        {u"captured"_s, QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs)},
        {u"host"_s, QSysInfo::machineHostName()},
        {u"kernel"_s, kernel},
        {u"os"_s, QSysInfo::prettyProductName()},
        {u"memoryBytes"_s, memoryTotalBytes()},
        {u"cpu"_s,
         QJsonObject{{u"model"_s, m.value(u"cpuModel"_s)},
                     {u"physicalCores"_s, m.value(u"physicalCores"_s)},
                     {u"logicalCpus"_s, m.value(u"logicalCpus"_s)},
                     {u"usableCpus"_s, m.value(u"usableCpus"_s)}}},
        {u"cpufreq"_s, readCpuFrequency(in.cpuRoot).toJson()},
        {u"thermalThrottle"_s, throttleJson},
        {u"software"_s,
         QJsonObject{{u"joulebench"_s, QStringLiteral(JOULEBENCH_VERSION)},
                     {u"revision"_s, QStringLiteral(JOULEBENCH_GIT_REVISION)},
                     {u"qtRuntime"_s, QString::fromLatin1(qVersion())},
                     {u"qtBuild"_s, QStringLiteral(QT_VERSION_STR)},
                     {u"torch"_s, m.value(u"torchVersion"_s)},
                     {u"compiler"_s, QStringLiteral(__VERSION__)}}},
        {u"blas"_s, m.value(u"blas"_s)},
        {u"machine"_s, m},
        {u"meters"_s, metersToJson(in.meters)},
        {u"meterWarnings"_s, QJsonArray::fromStringList(in.meterWarnings)},
    };
}

} // namespace jb
