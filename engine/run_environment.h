// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "measurement/meter.h"

#include <QJsonArray>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <memory>
#include <optional>

namespace jb {

/// Where CPU frequency and throttle state are read: JOULEBENCH_SYS_CPU_ROOT when set (tests
/// use fake trees), else /sys/devices/system/cpu.
QString defaultSysCpuRoot();

/// CPU frequency scaling as cpufreq reports it (sysfs), where readable. VMs usually have none.
struct CpuFrequencyState
{
    bool readable = false;       ///< at least one cpu*/cpufreq folder was read
    QStringList governors;       ///< distinct scaling_governor values, sorted
    QString driver;              ///< scaling_driver of the first CPU that has one
    double minMHz = 0;           ///< cpuinfo_min_freq of the first CPU (0 when unknown)
    double maxMHz = 0;           ///< cpuinfo_max_freq of the first CPU (0 when unknown)
    QList<double> currentMHz;    ///< scaling_cur_freq per CPU, in CPU number order
    QString note;                ///< why nothing was readable

    /// Mean of currentMHz; 0 when empty.
    double meanCurrentMHz() const;
    QJsonObject toJson() const;
};
/// Reads cpu<N>/cpufreq/* under `cpuRoot`. Any thread; ~1 ms for 64 CPUs.
CpuFrequencyState readCpuFrequency(const QString &cpuRoot = defaultSysCpuRoot());

/// The thermal throttle event counters (cpu<N>/thermal_throttle/*_throttle_count), summed.
struct ThrottleState
{
    bool readable = false;
    quint64 events = 0; ///< sum over every readable counter
    int counters = 0;   ///< how many counter files were read
    QString note;       ///< why nothing was readable
};
ThrottleState readThrottleCounters(const QString &cpuRoot = defaultSysCpuRoot());

/// One snapshot of machine-wide and own CPU time, for the background-load check.
struct CpuLoadSample
{
    double wallS = 0;      ///< monotonic clock
    quint64 busyTicks = 0; ///< /proc/stat aggregate: user+nice+system+irq+softirq, clock ticks
    double ownCpuS = 0;    ///< getrusage(RUSAGE_SELF): user + system of every thread
};
/// Reads `procStat` (a /proc/stat file; see EstimateMeter::defaultProcStat) and getrusage.
std::optional<CpuLoadSample> sampleCpuLoad(const QString &procStat, QString *error);
/// sysconf(_SC_CLK_TCK), the unit of /proc/stat (100 on Linux).
double clockTicksPerSecond();
/// CPU time other processes used between a and b, in cores (1.0 = one core busy all the
/// time): (busy ticks / ticksPerSecond - own CPU seconds) / wall seconds, at least 0.
/// NaN when no wall time passed. Pure.
double backgroundLoadCores(const CpuLoadSample &a, const CpuLoadSample &b, double ticksPerSecond);

/// Background load, thermal throttling and CPU frequency over one run (docs/methodology.md,
/// section 5). start() and finish() on the runner's thread.
class RunConditionsProbe
{
public:
    struct Result
    {
        bool loadChecked = false;
        double backgroundLoadCores = 0; ///< see backgroundLoadCores(); valid when loadChecked
        QString loadError;              ///< why the load was not checked
        bool throttleReadable = false;
        double throttleEvents = 0;      ///< counter increase over the run
        double meanFrequencyEndMHz = 0; ///< mean scaling_cur_freq at the end; 0 when unknown
    };

    RunConditionsProbe(QString procStat, QString cpuRoot);
    void start();
    Result finish() const;

private:
    QString m_procStat;
    QString m_cpuRoot;
    std::optional<CpuLoadSample> m_load;
    QString m_loadError;
    ThrottleState m_throttle;
};

/// What is recorded once per experiment (and copied into every run's record), see
/// docs/methodology.md section 1.
struct EnvironmentInputs
{
    QList<std::shared_ptr<Meter>> meters;
    QStringList meterWarnings;
    QJsonObject machine; ///< BackendInfo::toJson() of describeMachine() (CPU, torch, BLAS)
    QString cpuRoot = defaultSysCpuRoot();
};

/// host, kernel (uname), OS, memory, CPU (from `machine`), cpufreq state, throttle counters,
/// software versions (JouleBench and its git revision, Qt, libtorch, compiler), BLAS, and
/// every meter with its kind and domains. Any thread.
QJsonObject captureEnvironment(const EnvironmentInputs &inputs);

/// The meters as recorded in the environment: id, name, kind, update interval, domains.
QJsonArray metersToJson(const QList<std::shared_ptr<Meter>> &meters);

/// JouleBench's version and git revision ("0.1.0 (a1b2c3d4e5f6)").
QString joulebenchRevision();

} // namespace jb
