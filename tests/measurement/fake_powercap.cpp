// SPDX-License-Identifier: GPL-3.0-or-later
#include "fake_powercap.h"

#include "measurement/meter.h"

#include <QDir>
#include <QFile>

#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

namespace jb::test {

namespace {

bool writeWhole(const QString &path, const QByteArray &content)
{
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return false;
    return f.write(content) == content.size();
}

QByteArray padded(quint64 v)
{
    char buf[32];
    const int n = std::snprintf(buf, sizeof buf, "%020llu\n", static_cast<unsigned long long>(v));
    return QByteArray(buf, n);
}

} // namespace

FakePowercapTree::FakePowercapTree(const QString &base)
    : m_base(base), m_root(base + QStringLiteral("/sys/class/powercap")),
      m_devices(base + QStringLiteral("/sys/devices/virtual/powercap/intel-rapl"))
{
    QDir().mkpath(m_root);
    QDir().mkpath(m_devices);
    writeWhole(m_devices + QStringLiteral("/enabled"), "1\n");
    QFile::link(QStringLiteral("../../devices/virtual/powercap/intel-rapl"),
                m_root + QStringLiteral("/intel-rapl"));
}

FakePowercapTree::~FakePowercapTree()
{
    for (int fd : std::as_const(m_energyFds))
        ::close(fd);
}

QString FakePowercapTree::zoneDir(const QString &zone) const
{
    const QStringList parts = zone.split(QLatin1Char(':'));
    if (parts.size() == 3)
        return m_devices + QStringLiteral("/intel-rapl:%1/%2").arg(parts[1], zone);
    return m_devices + QLatin1Char('/') + zone;
}

bool FakePowercapTree::addZone(const QString &zone, const QString &name, quint64 energyUj,
                               std::optional<quint64> maxRangeUj)
{
    const QString dir = zoneDir(zone);
    if (!QDir().mkpath(dir))
        return false;
    if (!writeWhole(dir + QStringLiteral("/name"), name.toUtf8() + '\n'))
        return false;
    if (maxRangeUj && !writeWhole(dir + QStringLiteral("/max_energy_range_uj"),
                                  QByteArray::number(*maxRangeUj) + '\n'))
        return false;
    writeWhole(dir + QStringLiteral("/enabled"), "1\n");
    if (!writeWhole(dir + QStringLiteral("/energy_uj"), padded(energyUj)))
        return false;
    const QString relative =
        QStringLiteral("../../") + QDir(m_base + QStringLiteral("/sys")).relativeFilePath(dir);
    return QFile::link(relative, m_root + QLatin1Char('/') + zone);
}

bool FakePowercapTree::addOtherZone(const QString &entry, const QString &name, quint64 energyUj)
{
    const QString dir = m_base + QStringLiteral("/sys/devices/virtual/powercap/other/") + entry;
    if (!QDir().mkpath(dir))
        return false;
    writeWhole(dir + QStringLiteral("/name"), name.toUtf8() + '\n');
    writeWhole(dir + QStringLiteral("/energy_uj"), padded(energyUj));
    return QFile::link(dir, m_root + QLatin1Char('/') + entry);
}

bool FakePowercapTree::setEnergy(const QString &zone, quint64 energyUj)
{
    int fd = m_energyFds.value(zone, -1);
    if (fd < 0) {
        fd = ::open(QFile::encodeName(zoneDir(zone) + QStringLiteral("/energy_uj")).constData(),
                    O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            return false;
        m_energyFds.insert(zone, fd);
    }
    const QByteArray text = padded(energyUj);
    return ::pwrite(fd, text.constData(), static_cast<size_t>(text.size()), 0) == text.size();
}

bool FakePowercapTree::writeFile(const QString &zone, const QString &file,
                                 const QByteArray &content)
{
    return writeWhole(zoneDir(zone) + QLatin1Char('/') + file, content);
}

bool FakePowercapTree::replaceEnergyWithDirectory(const QString &zone)
{
    const QString path = zoneDir(zone) + QStringLiteral("/energy_uj");
    return QFile::remove(path) && QDir().mkdir(path);
}

bool FakePowercapTree::replaceEnergyWithDanglingLink(const QString &zone)
{
    const QString path = zoneDir(zone) + QStringLiteral("/energy_uj");
    return QFile::remove(path) && QFile::link(QStringLiteral("does-not-exist"), path);
}

void FakePowercapTree::buildIntelTwoPackages(quint64 maxRangeUj)
{
    for (int p = 0; p < 2; ++p) {
        const QString pkg = QStringLiteral("intel-rapl:%1").arg(p);
        addZone(pkg, QStringLiteral("package-%1").arg(p), 1000000ULL * (p + 1), maxRangeUj);
        addZone(pkg + QStringLiteral(":0"), QStringLiteral("core"), 500000, maxRangeUj);
        addZone(pkg + QStringLiteral(":1"), QStringLiteral("uncore"), 100000, maxRangeUj);
        addZone(pkg + QStringLiteral(":2"), QStringLiteral("dram"), 200000, 65712999613ULL);
    }
    addZone(QStringLiteral("intel-rapl:2"), QStringLiteral("psys"), 3000000, maxRangeUj);
}

void FakePowercapTree::buildAmdTwoPackages()
{
    const quint64 amdRange = 65712999613ULL; // 2^32 x 15.3 uJ, as on Zen
    for (int p = 0; p < 2; ++p) {
        const QString pkg = QStringLiteral("intel-rapl:%1").arg(p);
        addZone(pkg, QStringLiteral("package-%1").arg(p), 7000000, amdRange);
        addZone(pkg + QStringLiteral(":0"), QStringLiteral("core"), 3000000, amdRange);
    }
}

PowerWriter::PowerWriter(FakePowercapTree &tree, QString zone, double powerW, quint64 rangeUj,
                         quint64 startUj)
    : m_tree(tree), m_zone(std::move(zone)), m_powerW(powerW), m_rangeUj(rangeUj),
      m_startUj(startUj)
{
}

PowerWriter::~PowerWriter()
{
    stop();
}

void PowerWriter::start()
{
    m_t0 = jb::monotonicSeconds();
    {
        std::lock_guard lock(m_mutex);
        writeNowLocked();
    }
    m_stop = false;
    m_thread = std::thread([this] {
        while (!m_stop.load()) {
            {
                std::lock_guard lock(m_mutex);
                writeNowLocked();
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    });
}

void PowerWriter::stop()
{
    m_stop = true;
    if (m_thread.joinable())
        m_thread.join();
}

void PowerWriter::writeNowLocked()
{
    const double elapsed = jb::monotonicSeconds() - m_t0;
    const quint64 total = static_cast<quint64>(m_powerW * elapsed * 1e6);
    if (total < m_totalUj)
        return;
    m_totalUj = total;
    const quint64 raw = (m_startUj + total) % m_rangeUj;
    m_wraps = (m_startUj + total) / m_rangeUj;
    m_tree.setEnergy(m_zone, raw);
}

quint64 PowerWriter::totalUj() const
{
    std::lock_guard lock(m_mutex);
    return m_totalUj;
}

quint64 PowerWriter::wraps() const
{
    std::lock_guard lock(m_mutex);
    return m_wraps;
}

} // namespace jb::test
