// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "meter.h"
#include "sysfs_file.h"

#include <optional>
#include <string_view>

namespace jb {

/// A model, not a measurement, for machines without a readable energy counter (VMs, CI):
/// CPU energy = TDP x busy fraction x elapsed time, from the aggregate "cpu" line of /proc/stat.
///
/// With busy = user + nice + system + irq + softirq and total = busy + idle + iowait + steal
/// (clock ticks summed over all CPUs), each read adds
///     E += TDP * u * (t_now - t_previous_read),   u = (busy_1 - busy_0) / (total_1 - total_0)
/// where u is the busy fraction since the last read that saw the tick counters move (kept when
/// two reads fall within one tick), clamped to [0, 1]; u = 0 before the first tick.
/// Idle power is not modelled (an idle machine reads 0 W). One domain, "cpu", kind Estimate.
/// Its figures are labelled "estimate" everywhere and never added to measured ones.
///
/// Threads: see Meter.
class EstimateMeter final : public Meter
{
public:
    /// Aggregate CPU time counters of one /proc/stat snapshot, in clock ticks.
    struct CpuTimes
    {
        quint64 busy = 0;
        quint64 total = 0;
    };

    static constexpr double kDefaultTdpW = 65.0;
    /// JOULEBENCH_ESTIMATE_TDP_W when set to a positive number, else kDefaultTdpW.
    static double defaultTdpW();
    /// JOULEBENCH_PROC_STAT when set (tests), else /proc/stat.
    static QString defaultProcStat();
    /// Parses the first "cpu " line of /proc/stat content.
    static std::optional<CpuTimes> parseProcStat(std::string_view text, QString *error);
    /// TDP x u x seconds for two snapshots (u clamped to [0, 1]); 0 when no tick elapsed.
    static double energyJ(double tdpW, const CpuTimes &before, const CpuTimes &after,
                          double seconds);
    /// Opens procStat and checks that it parses. tdpW must be positive.
    static MeterStatus probe(double tdpW, const QString &procStat);

    QString id() const override { return QStringLiteral("estimate"); }
    QString displayName() const override;
    MeterKind kind() const override { return MeterKind::Estimate; }
    QList<DomainInfo> domains() const override;
    bool start(QString *error) override;
    bool read(std::span<double> joules, QString *error) override;
    /// One /proc/stat tick (1 / sysconf(_SC_CLK_TCK), 0.01 s).
    double counterUpdateIntervalS() const override;
    double tdpW() const { return m_tdpW; }

private:
    EstimateMeter() = default;
    bool readTimes(CpuTimes *times, QString *error) const;

    double m_tdpW = kDefaultTdpW;
    SysfsFile m_stat;
    CpuTimes m_base;           // counters at the last read that saw ticks
    double m_busyFraction = 0; // u over that last interval
    double m_lastTimeS = 0;    // time of the last read
    double m_joules = 0;
};

} // namespace jb
