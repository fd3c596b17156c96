// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "meter.h"

#include <optional>
#include <vector>

namespace jb {

/// RAPL energy counters through the perf_event "power" PMU: the second source, for machines
/// where powercap's energy_uj is root-only but perf_event_paranoid (or CAP_PERFMON) allows
/// system-wide events.
///
/// Events come from sysfs (`<root>/events/energy-pkg` with `.scale` and `.unit`, the PMU type
/// from `<root>/type`, the CPUs to open from `<root>/cpumask`, one per package); each is opened
/// with perf_event_open(pid -1, cpu). The kernel keeps these counts in 64 bits, so no wrap
/// handling is needed here. Domain names match the powercap meter: energy-pkg -> "package-N",
/// energy-cores -> "package-N/core", energy-gpu -> "package-N/uncore", energy-ram ->
/// "package-N/dram", energy-psys -> "psys", where N is the position of the CPU in cpumask.
///
/// Threads: see Meter.
class RaplPerfMeter final : public Meter
{
public:
    /// One event of the PMU as described by sysfs.
    struct EventDescription
    {
        QString event;      ///< "energy-pkg"
        quint64 config = 0; ///< perf_event_attr.config assembled from the format fields
        double scale = 0;   ///< joules per count (from <event>.scale)
        QString unit;       ///< from <event>.unit, "Joules"
    };
    /// What sysfs says about the power PMU.
    struct PmuDescription
    {
        int type = -1;   ///< perf_event_attr.type
        QList<int> cpus; ///< one CPU per package (cpumask)
        QList<EventDescription> events;
    };

    /// JOULEBENCH_PERF_EVENT_ROOT when set, else /sys/bus/event_source/devices/power.
    static QString defaultRoot();
    /// Parses the PMU's sysfs directory (no syscall). Events with a unit other than Joules or a
    /// malformed description are an error naming the file.
    static std::optional<PmuDescription> describePmu(const QString &root, QString *error);
    /// Turns an event string such as "event=0x02" or "event=0x01,umask=0x10" into the config
    /// value, placing each term by <root>/format/<term> ("config:0-7"); a term without a
    /// format file is taken as config bits from 0 when it is "event", else an error.
    static std::optional<quint64> parseEventConfig(const QString &eventText, const QString &root,
                                                   QString *error);
    /// Parses a CPU list such as "0", "0,28" or "0-3,8".
    static std::optional<QList<int>> parseCpuList(const QString &text);
    /// The domain name for an event on the package at position packageIndex; empty for events
    /// this meter does not use.
    static QString domainName(const QString &event, int packageIndex);
    /// Discovers the PMU and opens every event on every package CPU.
    static MeterStatus probe(const QString &root);

    ~RaplPerfMeter() override;
    QString id() const override { return QStringLiteral("rapl-perf"); }
    QString displayName() const override;
    MeterKind kind() const override { return MeterKind::Measured; }
    QList<DomainInfo> domains() const override;
    bool start(QString *error) override;
    bool read(std::span<double> joules, QString *error) override;
    double counterUpdateIntervalS() const override { return 0.001; }

private:
    struct Counter
    {
        DomainInfo info;
        int fd = -1;
        double scale = 0;
        quint64 startCount = 0;
    };
    RaplPerfMeter() = default;
    bool readCount(const Counter &c, quint64 *count, QString *error) const;

    QString m_root;
    std::vector<Counter> m_counters;
};

} // namespace jb
