// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "meter.h"

#include <QStringList>

#include <functional>
#include <memory>
#include <optional>

namespace jb {

/// Where discovery looks. Defaults come from the environment (JOULEBENCH_POWERCAP_ROOT,
/// JOULEBENCH_PERF_EVENT_ROOT, JOULEBENCH_NVML_LIBRARY, JOULEBENCH_ESTIMATE_TDP_W,
/// JOULEBENCH_PROC_STAT) or the system paths.
struct DiscoveryOptions
{
    QString powercapRoot;
    QString perfEventRoot;
    QString nvmlLibrary;
    double estimateTdpW = 0;
    QString procStat;

    static DiscoveryOptions fromEnvironment();
};

/// Meters chosen for a measurement, plus what the user should be told about the choice.
struct MeterSelection
{
    QList<std::shared_ptr<Meter>> meters;
    /// e.g. "no hardware energy counter readable: ...; using the CPU-time estimate ..." or a
    /// domain left out. Print each once, on stderr / in the log.
    QStringList warnings;
    bool estimateOnly() const;
};

/// The meter kinds this build knows, each with a probe that finds it on this machine.
///
/// Threads: discover() and the select functions run on the caller's thread; they touch sysfs,
/// dlopen NVML and open perf events, so call them once per run, not per sample.
class MeterRegistry
{
public:
    using Probe = std::function<MeterStatus(const DiscoveryOptions &)>;
    struct Entry
    {
        QString id;    ///< "rapl-powercap"
        QString group; ///< "rapl": entries of a group are alternatives, the first readable wins
        Probe probe;
    };

    /// rapl-powercap, rapl-perf (group "rapl"), nvml, estimate; in that order of preference.
    static MeterRegistry builtIn();

    void add(Entry entry);
    const QList<Entry> &entries() const { return m_entries; }
    /// Ids and group names accepted by select(): "rapl", "rapl-powercap", ..., "estimate".
    QStringList selectableIds() const;

    /// Probes every entry: present or not, readable or not, and why.
    QList<MeterStatus> discover(const DiscoveryOptions &options) const;

    /// The meters named by ids (meter ids or group names; a group takes its first readable
    /// member). An unknown id, or a chosen meter that is not readable, is an error that names
    /// the reason and the fix.
    std::optional<MeterSelection> select(const QList<MeterStatus> &found, const QStringList &ids,
                                         QString *error) const;
    /// Every readable measured meter (one per group). When there is none: the estimate meter,
    /// with the warning "no hardware energy counter readable: <reasons>; using the CPU-time
    /// estimate ...". Fails only when not even the estimate is readable.
    std::optional<MeterSelection> selectDefault(const QList<MeterStatus> &found,
                                                QString *error) const;

private:
    QString groupOf(const QString &id) const;
    QList<Entry> m_entries;
};

} // namespace jb
