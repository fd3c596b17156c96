// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QList>
#include <QString>

#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace jb {

/// Whether a number came from a hardware counter or from a model. Estimates are never summed
/// with measured values and are labelled "estimate" wherever they are shown or stored.
enum class MeterKind { Measured, Estimate };

/// "measured" or "estimate" (the spelling used in text, JSON and the database).
QString meterKindName(MeterKind kind);

/// How a domain's energy is obtained.
namespace method {
inline constexpr const char *Counter = "counter";                    ///< hardware energy counter
inline constexpr const char *PowerIntegration = "power-integration"; ///< trapezoid over power reads
inline constexpr const char *CpuTimeEstimate = "cpu-time-x-tdp";     ///< /proc/stat busy x TDP
} // namespace method

/// One energy domain of a meter, e.g. "package-0", "package-0/core", "gpu-0", "cpu".
struct DomainInfo
{
    QString name; ///< unique within its meter
    MeterKind kind = MeterKind::Measured;
    QString method; ///< one of jb::method (counter, power-integration, cpu-time-x-tdp)
    QString source; ///< where it is read from: sysfs zone, perf event, GPU name, /proc/stat
    /// Domain whose energy already includes this one ("package-0" for "package-0/core"), empty
    /// when none. Never add a domain to its parent. DRAM and psys have no parent (DRAM energy is
    /// not part of the package counter).
    QString partOf;
    /// Counter range in joules after which it wraps to zero; 0 when it does not wrap (or the
    /// range is unknown, see note).
    double wrapRangeJ = 0;
    QString note; ///< a caveat shown to the user, e.g. "max_energy_range_uj missing"
};

/// Cumulative energy of every domain of one meter at one moment.
struct MeterReading
{
    double timeS = 0;           ///< monotonic clock (CLOCK_MONOTONIC), seconds
    std::vector<double> joules; ///< since Meter::start(), in domains() order
};

/// Seconds on the monotonic clock (std::chrono::steady_clock == CLOCK_MONOTONIC on Linux).
double monotonicSeconds();

/// A source of cumulative energy per domain: RAPL (powercap or perf_event), NVML, or the
/// CPU-time estimate.
///
/// Threads: a meter is used by one thread at a time (discovery on the caller's thread, then the
/// Sampler serialises all reads with a mutex). Meters are created by the MeterRegistry
/// (meter_registry.h), already opened; start() sets the zero point and read() returns the
/// energy since then.
class Meter
{
public:
    virtual ~Meter();
    Meter(const Meter &) = delete;
    Meter &operator=(const Meter &) = delete;

    /// Stable identifier: "rapl-powercap", "rapl-perf", "nvml", "estimate".
    virtual QString id() const = 0;
    /// Human-readable name with the source, e.g. "RAPL via powercap (/sys/class/powercap)".
    virtual QString displayName() const = 0;
    virtual MeterKind kind() const = 0;
    /// The readable domains, fixed for the meter's lifetime. read() fills values in this order.
    virtual QList<DomainInfo> domains() const = 0;

    /// Reads every counter and makes the current values the zero point; resets wrapCount().
    virtual bool start(QString *error) = 0;
    /// Cumulative joules per domain since start(), written to joules (size == domains().size()).
    /// Allocation-free on the hot path. On failure, returns false and names the domain and
    /// file in *error; the counters keep their last good state.
    virtual bool read(std::span<double> joules, QString *error) = 0;

    /// How often the underlying value changes, in seconds (RAPL ~0.001, NVML 0.1 by default,
    /// estimate: one /proc/stat tick, 0.01). A phase shorter than 10x this is flagged.
    virtual double counterUpdateIntervalS() const = 0;
    /// Longest time between two reads for which no counter wrap can be missed: the smallest
    /// wrapRangeJ / kAssumedMaxDomainPowerW / 2 over the domains (factor 2 for safety);
    /// +infinity when no domain wraps.
    virtual double maxReadIntervalS() const;
    /// Number of counter wraps corrected since start(), summed over domains.
    virtual quint64 wrapCount() const { return 0; }

    /// Convenience for one-off reads (CLI): read() stamped with monotonicSeconds().
    std::optional<MeterReading> sample(QString *error);

protected:
    Meter() = default;
};

/// A domain found by discovery, readable or not.
struct DomainStatus
{
    DomainInfo info;
    bool readable = false;
    QString problem; ///< why it cannot be read (with the fix), or a caveat when readable
};

/// What discovery found for one kind of meter (see MeterRegistry).
struct MeterStatus
{
    QString id; ///< the Meter::id() it has or would have
    QString displayName;
    MeterKind kind = MeterKind::Measured;
    bool present = false;  ///< the interface exists on this machine (tree, PMU, library)
    bool readable = false; ///< at least one domain can be read; then meter is set
    QString reason;        ///< why not present / not readable, naming the fix; empty if readable
    QList<DomainStatus> domains;
    std::shared_ptr<Meter> meter; ///< non-null exactly when readable
};

/// Power assumed as the ceiling of one wrapping domain when computing Meter::maxReadIntervalS()
/// (a generous bound for one CPU package or DRAM channel set).
inline constexpr double kAssumedMaxDomainPowerW = 500.0;

} // namespace jb
