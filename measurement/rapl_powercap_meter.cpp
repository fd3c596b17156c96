// SPDX-License-Identifier: GPL-3.0-or-later
#include "rapl_powercap_meter.h"

#include "measurement_log.h"

#include <QDir>
#include <QFileInfo>
#include <QHash>
#include <QRegularExpression>
#include <QSet>

#include <algorithm>
#include <cerrno>

namespace jb {

namespace {

struct Zone
{
    QString id;      // "intel-rapl:0:1"
    int package = 0; // N of intel-rapl:N
    int sub = -1;    // M of intel-rapl:N:M, -1 for a top-level zone
};

QList<Zone> listZones(const QString &root)
{
    static const QRegularExpression pattern(QStringLiteral("^intel-rapl:(\\d+)(?::(\\d+))?$"));
    QList<Zone> zones;
    // System: also list dangling symlinks, so a broken zone is reported rather than ignored.
    const QStringList entries =
        QDir(root).entryList(QDir::Dirs | QDir::Files | QDir::System | QDir::NoDotAndDotDot);
    for (const QString &e : entries) {
        const QRegularExpressionMatch m = pattern.match(e);
        if (!m.hasMatch())
            continue;
        Zone z;
        z.id = e;
        z.package = m.captured(1).toInt();
        z.sub = m.captured(2).isEmpty() ? -1 : m.captured(2).toInt();
        zones.append(z);
    }
    std::sort(zones.begin(), zones.end(), [](const Zone &a, const Zone &b) {
        return a.package != b.package ? a.package < b.package : a.sub < b.sub;
    });
    return zones;
}

} // namespace

QString RaplPowercapMeter::defaultRoot()
{
    const QString env = qEnvironmentVariable("JOULEBENCH_POWERCAP_ROOT");
    return env.isEmpty() ? QStringLiteral("/sys/class/powercap") : env;
}

QString RaplPowercapMeter::permissionFix()
{
    return QStringLiteral(
        "energy_uj is readable by root only since Linux 5.10 (CVE-2020-8694, the RAPL power "
        "side channel). Fix: run 'sudo scripts/grant-rapl-access.sh' to give the group "
        "'joulebench' read access, add yourself with 'sudo usermod -aG joulebench $USER' and "
        "log in again (see docs/measurement.md); or run as root");
}

QString RaplPowercapMeter::readErrorMessage(const QString &path, int errnoValue)
{
    return describeReadError(path, errnoValue, permissionFix());
}

QString RaplPowercapMeter::displayName() const
{
    return QStringLiteral("RAPL via powercap (%1)").arg(m_root);
}

QList<DomainInfo> RaplPowercapMeter::domains() const
{
    QList<DomainInfo> list;
    list.reserve(static_cast<qsizetype>(m_domains.size()));
    for (const Domain &d : m_domains)
        list.append(d.info);
    return list;
}

MeterStatus RaplPowercapMeter::probe(const QString &root)
{
    MeterStatus status;
    status.id = QStringLiteral("rapl-powercap");
    status.displayName = QStringLiteral("RAPL via powercap (%1)").arg(root);
    status.kind = MeterKind::Measured;

    if (!QFileInfo(root).isDir()) {
        status.reason =
            QStringLiteral(
                "not present: no powercap tree at %1 (a VM or CPU without RAPL, or the "
                "intel_rapl_msr module is not loaded: try 'sudo modprobe intel_rapl_msr')")
                .arg(root);
        return status;
    }
    const QList<Zone> zones = listZones(root);
    if (zones.isEmpty()) {
        status.reason = QStringLiteral("not present: no intel-rapl:* zone in %1 (no RAPL on this "
                                       "machine, or try 'sudo modprobe intel_rapl_msr')")
                            .arg(root);
        return status;
    }
    status.present = true;

    std::unique_ptr<RaplPowercapMeter> meter(new RaplPowercapMeter);
    meter->m_root = root;
    QHash<int, QString> packageNames; // intel-rapl:N -> its domain name
    QSet<QString> usedNames;
    int permissionDenied = 0;
    QString firstPermissionError;

    for (const Zone &z : zones) {
        const QString dir = root + QLatin1Char('/') + z.id;
        DomainStatus ds;
        ds.info.kind = MeterKind::Measured;
        ds.info.method = QString::fromLatin1(method::Counter);
        ds.info.source = dir;

        QString zoneName, error;
        if (!readTextFile(dir + QStringLiteral("/name"), &zoneName, &error) || zoneName.isEmpty()) {
            ds.info.name = z.id;
            ds.problem = error.isEmpty() ? QStringLiteral("%1/name is empty").arg(dir) : error;
            if (z.sub < 0)
                packageNames.insert(z.package, z.id);
            status.domains.append(ds);
            continue;
        }
        QString name = zoneName;
        if (z.sub >= 0) {
            const QString parent =
                packageNames.value(z.package, QStringLiteral("intel-rapl:%1").arg(z.package));
            name = parent + QLatin1Char('/') + zoneName;
            // core (PP0) and uncore (PP1) are parts of the package; DRAM is a separate plane.
            if (zoneName != QLatin1String("dram"))
                ds.info.partOf = parent;
        }
        if (usedNames.contains(name))
            name += QLatin1Char('@') + z.id; // e.g. two "package-0" zones on multi-die parts
        usedNames.insert(name);
        if (z.sub < 0)
            packageNames.insert(z.package, name);
        ds.info.name = name;

        quint64 range = 0;
        QString rangeText;
        QString rangeError;
        if (!readTextFile(dir + QStringLiteral("/max_energy_range_uj"), &rangeText, &rangeError)) {
            ds.info.note = QStringLiteral("max_energy_range_uj missing: a counter wrap cannot be "
                                          "corrected, a read fails if one happens");
        } else if (const auto r = parseUInt64(rangeText.toStdString()); !r || *r == 0) {
            ds.info.note = QStringLiteral("max_energy_range_uj holds '%1', not a positive number: "
                                          "a counter wrap cannot be corrected")
                               .arg(rangeText.left(40));
        } else {
            range = *r;
            ds.info.wrapRangeJ = static_cast<double>(range) * 1e-6;
        }

        Domain d;
        d.info = ds.info;
        d.counter = WrappingCounter(range);
        const QString energyPath = dir + QStringLiteral("/energy_uj");
        int openErrno = 0;
        if (!d.energy.open(energyPath, &error, permissionFix(), &openErrno)) {
            ds.problem = error;
            if (openErrno == EACCES || openErrno == EPERM) {
                ++permissionDenied;
                if (firstPermissionError.isEmpty())
                    firstPermissionError = error;
            }
            status.domains.append(ds);
            continue;
        }
        quint64 raw = 0;
        if (!d.energy.readUInt64(&raw, &error)) {
            ds.problem = error;
            status.domains.append(ds);
            continue;
        }
        d.counter.reset(raw);
        ds.readable = true;
        ds.problem = ds.info.note;
        status.domains.append(ds);
        meter->m_domains.push_back(std::move(d));
    }

    if (meter->m_domains.empty()) {
        if (permissionDenied > 0) {
            status.reason = QStringLiteral("not readable (%1 of %2 zones: permission denied): %3")
                                .arg(permissionDenied)
                                .arg(zones.size())
                                .arg(firstPermissionError);
        } else {
            status.reason = QStringLiteral("not readable: %1").arg(status.domains.value(0).problem);
        }
        return status;
    }
    for (const DomainStatus &ds : std::as_const(status.domains)) {
        if (!ds.readable)
            qCWarning(lcMeasurement) << "RAPL zone left out:" << ds.info.name << ds.problem;
    }
    status.readable = true;
    status.meter = std::shared_ptr<Meter>(meter.release());
    return status;
}

bool RaplPowercapMeter::start(QString *error)
{
    for (Domain &d : m_domains) {
        quint64 raw = 0;
        if (!d.energy.readUInt64(&raw, error))
            return false;
        d.counter.reset(raw);
    }
    return true;
}

bool RaplPowercapMeter::read(std::span<double> joules, QString *error)
{
    Q_ASSERT(joules.size() == m_domains.size());
    for (size_t i = 0; i < m_domains.size(); ++i) {
        Domain &d = m_domains[i];
        quint64 raw = 0;
        if (!d.energy.readUInt64(&raw, error))
            return false;
        if (!d.counter.update(raw)) {
            if (error)
                *error = QStringLiteral("%1/energy_uj of %2 went from %3 down to %4 and the wrap "
                                        "cannot be corrected: %5")
                             .arg(d.info.source, d.info.name)
                             .arg(d.counter.last())
                             .arg(raw)
                             .arg(d.info.note.isEmpty()
                                      ? QStringLiteral("the value exceeds max_energy_range_uj")
                                      : d.info.note);
            return false;
        }
        joules[i] = static_cast<double>(d.counter.total()) * 1e-6;
    }
    return true;
}

quint64 RaplPowercapMeter::wrapCount() const
{
    quint64 n = 0;
    for (const Domain &d : m_domains)
        n += d.counter.wraps();
    return n;
}

} // namespace jb
