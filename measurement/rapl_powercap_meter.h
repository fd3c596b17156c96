// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "meter.h"
#include "sysfs_file.h"
#include "wrapping_counter.h"

#include <vector>

namespace jb {

/// RAPL energy counters through the powercap sysfs tree (Intel, and AMD Zen, which the kernel
/// exposes through the same intel-rapl zones).
///
/// Every `intel-rapl:N` zone and `intel-rapl:N:M` sub-zone under the root becomes a domain
/// named from its `name` file: "package-0", "package-0/core", "package-0/uncore",
/// "package-0/dram", "psys". energy_uj files stay open and are re-read with pread();
/// wraparound is corrected with max_energy_range_uj (WrappingCounter).
/// `intel-rapl-mmio:*` zones are skipped: they duplicate the MSR package counter.
///
/// Threads: see Meter.
class RaplPowercapMeter final : public Meter
{
public:
    /// JOULEBENCH_POWERCAP_ROOT when set, else /sys/class/powercap.
    static QString defaultRoot();
    /// Discovers the zones under root, opens what is readable, and reports the rest.
    static MeterStatus probe(const QString &root);
    /// The fix named when energy_uj cannot be opened for lack of permission.
    static QString permissionFix();
    /// The message for a failed open/read of an energy_uj file: for EACCES/EPERM it says that
    /// energy_uj is root-only and names scripts/grant-rapl-access.sh.
    static QString readErrorMessage(const QString &path, int errnoValue);

    QString id() const override { return QStringLiteral("rapl-powercap"); }
    QString displayName() const override;
    MeterKind kind() const override { return MeterKind::Measured; }
    QList<DomainInfo> domains() const override;
    bool start(QString *error) override;
    bool read(std::span<double> joules, QString *error) override;
    double counterUpdateIntervalS() const override { return 0.001; }
    quint64 wrapCount() const override;

private:
    struct Domain
    {
        DomainInfo info;
        SysfsFile energy;
        WrappingCounter counter;
    };
    RaplPowercapMeter() = default;

    QString m_root;
    std::vector<Domain> m_domains;
};

} // namespace jb
