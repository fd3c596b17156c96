// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QHash>
#include <QString>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace jb::test {

/// A fake powercap sysfs tree with the real layout, built under a directory the caller owns
/// (a QTemporaryDir):
///
///     <base>/sys/class/powercap/intel-rapl       -> ../../devices/virtual/powercap/intel-rapl
///     <base>/sys/class/powercap/intel-rapl:0     ->
///     ../../devices/virtual/powercap/intel-rapl/intel-rapl:0
///     <base>/sys/class/powercap/intel-rapl:0:0   -> .../intel-rapl:0/intel-rapl:0:0
///     <base>/sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/{name,energy_uj,max_energy_range_uj}
///
/// root() is the directory to pass as JOULEBENCH_POWERCAP_ROOT. energy_uj values are written
/// in place with pwrite() as 20 zero-padded digits, so a reader keeping the file open sees
/// each update (a rename would leave it on the old inode).
class FakePowercapTree
{
public:
    explicit FakePowercapTree(const QString &base);
    ~FakePowercapTree();

    QString root() const { return m_root; }
    /// The zone's real directory (under sys/devices/...).
    QString zoneDir(const QString &zone) const;

    /// Adds zone "intel-rapl:N" or "intel-rapl:N:M" (its parent must exist) named `name`.
    /// No max_energy_range_uj file when maxRangeUj is nullopt.
    bool addZone(const QString &zone, const QString &name, quint64 energyUj,
                 std::optional<quint64> maxRangeUj = 262143328850ULL);
    /// Any other entry of the class directory, e.g. "intel-rapl-mmio:0" (a symlink to a zone).
    bool addOtherZone(const QString &entry, const QString &name, quint64 energyUj);
    /// Writes the counter in place.
    bool setEnergy(const QString &zone, quint64 energyUj);
    /// Overwrites a file of the zone with arbitrary content (e.g. "abc").
    bool writeFile(const QString &zone, const QString &file, const QByteArray &content);
    /// Makes energy_uj unreadable even for root: replaced by a directory.
    bool replaceEnergyWithDirectory(const QString &zone);
    /// Makes energy_uj a dangling symlink.
    bool replaceEnergyWithDanglingLink(const QString &zone);

    /// Two Intel packages (package-0/1 with core, uncore, dram) and psys, all readable.
    void buildIntelTwoPackages(quint64 maxRangeUj = 262143328850ULL);
    /// AMD Zen style: package-0/1, each with only a "core" sub-zone, range 2^32 x 15.3 uJ.
    void buildAmdTwoPackages();

private:
    QString m_base;
    QString m_root;
    QString m_devices;
    QHash<QString, int> m_energyFds;
};

/// Drives one zone's energy_uj as a counter at a constant power, wrapping at `rangeUj`, from
/// its own thread (one update per millisecond), like RAPL hardware does.
class PowerWriter
{
public:
    PowerWriter(FakePowercapTree &tree, QString zone, double powerW, quint64 rangeUj,
                quint64 startUj = 0);
    ~PowerWriter(); ///< stops

    void start();
    void stop();
    /// Writes the counter for this instant and calls fn while no other update can happen, so
    /// that whatever fn reads matches totalUj(); returns the true total written, in uJ.
    template <typename F> quint64 syncAndRun(F fn)
    {
        std::lock_guard lock(m_mutex);
        writeNowLocked();
        fn();
        return m_totalUj;
    }
    quint64 totalUj() const;
    quint64 wraps() const;

private:
    void writeNowLocked();

    FakePowercapTree &m_tree;
    QString m_zone;
    double m_powerW;
    quint64 m_rangeUj;
    quint64 m_startUj;
    double m_t0 = 0;
    mutable std::mutex m_mutex;
    quint64 m_totalUj = 0;
    quint64 m_wraps = 0;
    std::atomic<bool> m_stop{false};
    std::thread m_thread;
};

} // namespace jb::test
