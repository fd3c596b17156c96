// SPDX-License-Identifier: GPL-3.0-or-later
// RAPL through powercap on fake sysfs trees: discovery, names, AMD layout, wraparound, and every
// way energy_uj can be unreadable.
#include "fake_powercap.h"

#include "measurement/rapl_powercap_meter.h"
#include "measurement/wrapping_counter.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cerrno>

using namespace jb;
using jb::test::FakePowercapTree;

namespace {

QStringList names(const QList<DomainInfo> &domains)
{
    QStringList n;
    for (const DomainInfo &d : domains)
        n.append(d.name);
    return n;
}

const DomainStatus *findDomain(const MeterStatus &s, const QString &name)
{
    for (const DomainStatus &d : s.domains) {
        if (d.info.name == name)
            return &d;
    }
    return nullptr;
}

std::vector<double> readAll(Meter &m)
{
    std::vector<double> v(static_cast<size_t>(m.domains().size()));
    QString error;
    if (!m.read(v, &error))
        qWarning("read failed: %s", qPrintable(error));
    return v;
}

} // namespace

class TestPowercap : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void wrappingCounterArithmetic()
    {
        WrappingCounter c(1000);
        c.reset(900);
        QVERIFY(c.update(950));
        QCOMPARE(c.total(), quint64(50));
        QVERIFY(c.update(100)); // wrapped: 1000 - 950 + 100
        QCOMPARE(c.total(), quint64(200));
        QCOMPARE(c.wraps(), quint64(1));
        QVERIFY(c.update(50)); // wrapped again
        QCOMPARE(c.total(), quint64(200 + 950));
        QCOMPARE(c.wraps(), quint64(2));

        WrappingCounter unknown(0);
        unknown.reset(10);
        QVERIFY(!unknown.update(5));
        QCOMPARE(unknown.total(), quint64(0));
    }

    void discoversIntelPackagesAndSubZones()
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        tree.buildIntelTwoPackages();
        QVERIFY(
            tree.addOtherZone(QStringLiteral("intel-rapl-mmio:0"), QStringLiteral("package-0"), 5));
        const MeterStatus s = RaplPowercapMeter::probe(tree.root());
        QVERIFY2(s.readable, qPrintable(s.reason));
        QVERIFY(s.present);
        QCOMPARE(s.id, QStringLiteral("rapl-powercap"));
        QCOMPARE(names(s.meter->domains()),
                 QStringList({QStringLiteral("package-0"), QStringLiteral("package-0/core"),
                              QStringLiteral("package-0/uncore"), QStringLiteral("package-0/dram"),
                              QStringLiteral("package-1"), QStringLiteral("package-1/core"),
                              QStringLiteral("package-1/uncore"), QStringLiteral("package-1/dram"),
                              QStringLiteral("psys")}));
        const QList<DomainInfo> d = s.meter->domains();
        QCOMPARE(d[1].partOf, QStringLiteral("package-0"));
        QCOMPARE(d[2].partOf, QStringLiteral("package-0"));
        QVERIFY(d[3].partOf.isEmpty()); // DRAM is not inside the package counter
        QVERIFY(d[0].partOf.isEmpty());
        QCOMPARE(d[0].kind, MeterKind::Measured);
        QCOMPARE(d[0].method, QStringLiteral("counter"));
        QCOMPARE(d[0].wrapRangeJ, 262143.32885);
        QCOMPARE(s.meter->counterUpdateIntervalS(), 0.001);
        // 65712.999613 J / 500 W / 2 (the DRAM zone has the smallest range)
        QVERIFY(qAbs(s.meter->maxReadIntervalS() - 65712.999613 / 500.0 / 2.0) < 1e-9);
    }

    void discoversAmdStyleTree()
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        tree.buildAmdTwoPackages();
        const MeterStatus s = RaplPowercapMeter::probe(tree.root());
        QVERIFY2(s.readable, qPrintable(s.reason));
        QCOMPARE(names(s.meter->domains()),
                 QStringList({QStringLiteral("package-0"), QStringLiteral("package-0/core"),
                              QStringLiteral("package-1"), QStringLiteral("package-1/core")}));
        QVERIFY(tree.setEnergy(QStringLiteral("intel-rapl:1:0"), 3000000 + 2500000));
        const std::vector<double> j = readAll(*s.meter);
        QCOMPARE(j[3], 2.5);
        QCOMPARE(j[0], 0.0);
    }

    void duplicateZoneNamesStayUnique()
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        QVERIFY(tree.addZone(QStringLiteral("intel-rapl:0"), QStringLiteral("package-0"), 1));
        QVERIFY(tree.addZone(QStringLiteral("intel-rapl:1"), QStringLiteral("package-0"), 1));
        const MeterStatus s = RaplPowercapMeter::probe(tree.root());
        QCOMPARE(
            names(s.meter->domains()),
            QStringList({QStringLiteral("package-0"), QStringLiteral("package-0@intel-rapl:1")}));
    }

    void readsJoulesSinceStartAndCountsWraps()
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        const quint64 range = 1000000; // 1 J
        QVERIFY(tree.addZone(QStringLiteral("intel-rapl:0"), QStringLiteral("package-0"), 900000,
                             range));
        const MeterStatus s = RaplPowercapMeter::probe(tree.root());
        QVERIFY2(s.readable, qPrintable(s.reason));
        Meter &m = *s.meter;
        QString error;
        QVERIFY(m.start(&error));
        QVERIFY(tree.setEnergy(QStringLiteral("intel-rapl:0"), 950000));
        QCOMPARE(readAll(m)[0], 0.05);
        QVERIFY(tree.setEnergy(QStringLiteral("intel-rapl:0"), 200000)); // wrap
        QCOMPARE(readAll(m)[0], 0.3);
        QVERIFY(tree.setEnergy(QStringLiteral("intel-rapl:0"), 100000)); // wrap
        QCOMPARE(readAll(m)[0], 1.2);
        QCOMPARE(m.wrapCount(), quint64(2));
        QVERIFY(m.start(&error));
        QCOMPARE(m.wrapCount(), quint64(0));
        QCOMPARE(readAll(m)[0], 0.0);
    }

    void missingRangeIsNotedAndAWrapIsAnError()
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        QVERIFY(tree.addZone(QStringLiteral("intel-rapl:0"), QStringLiteral("package-0"), 5000,
                             std::nullopt));
        const MeterStatus s = RaplPowercapMeter::probe(tree.root());
        QVERIFY2(s.readable, qPrintable(s.reason));
        const DomainInfo d = s.meter->domains().at(0);
        QCOMPARE(d.wrapRangeJ, 0.0);
        QVERIFY2(d.note.contains(QStringLiteral("max_energy_range_uj missing")),
                 qPrintable(d.note));
        QVERIFY(std::isinf(s.meter->maxReadIntervalS()));
        QVERIFY(tree.setEnergy(QStringLiteral("intel-rapl:0"), 4000));
        std::vector<double> j(1);
        QString error;
        QVERIFY(!s.meter->read(j, &error));
        QVERIFY2(error.contains(QStringLiteral("package-0")) &&
                     error.contains(QStringLiteral("max_energy_range_uj")),
                 qPrintable(error));
    }

    void nonNumericContentLeavesTheDomainOut()
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        tree.buildIntelTwoPackages();
        QVERIFY(
            tree.writeFile(QStringLiteral("intel-rapl:0:2"), QStringLiteral("energy_uj"), "abc\n"));
        QVERIFY(tree.writeFile(QStringLiteral("intel-rapl:1"),
                               QStringLiteral("max_energy_range_uj"), "lots\n"));
        const MeterStatus s = RaplPowercapMeter::probe(tree.root());
        QVERIFY(s.readable);
        const DomainStatus *dram = findDomain(s, QStringLiteral("package-0/dram"));
        QVERIFY(dram);
        QVERIFY(!dram->readable);
        QVERIFY2(dram->problem.contains(QStringLiteral("holds 'abc', not an unsigned integer")),
                 qPrintable(dram->problem));
        QVERIFY(!names(s.meter->domains()).contains(QStringLiteral("package-0/dram")));
        const DomainStatus *p1 = findDomain(s, QStringLiteral("package-1"));
        QVERIFY(p1 && p1->readable);
        QVERIFY2(p1->info.note.contains(QStringLiteral("'lots'")), qPrintable(p1->info.note));

        // Garbage appearing later is a read error naming the file.
        QVERIFY(
            tree.writeFile(QStringLiteral("intel-rapl:0"), QStringLiteral("energy_uj"), "12x\n"));
        std::vector<double> j(static_cast<size_t>(s.meter->domains().size()));
        QString error;
        QVERIFY(!s.meter->read(j, &error));
        QVERIFY2(error.contains(QStringLiteral("intel-rapl:0/energy_uj holds '12x'")),
                 qPrintable(error));
    }

    void unreadableEnergyFilesEvenAsRoot()
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        QVERIFY(tree.addZone(QStringLiteral("intel-rapl:0"), QStringLiteral("package-0"), 1));
        QVERIFY(tree.addZone(QStringLiteral("intel-rapl:0:0"), QStringLiteral("core"), 1));
        QVERIFY(tree.replaceEnergyWithDirectory(QStringLiteral("intel-rapl:0")));
        QVERIFY(tree.replaceEnergyWithDanglingLink(QStringLiteral("intel-rapl:0:0")));
        const MeterStatus s = RaplPowercapMeter::probe(tree.root());
        QVERIFY(s.present);
        QVERIFY(!s.readable);
        QVERIFY(!s.meter);
        QCOMPARE(s.domains.size(), 2);
        QVERIFY2(s.domains[0].problem.contains(QStringLiteral("Is a directory")),
                 qPrintable(s.domains[0].problem));
        QVERIFY2(s.domains[1].problem.contains(QStringLiteral("No such file or directory")),
                 qPrintable(s.domains[1].problem));
        QVERIFY2(s.reason.startsWith(QStringLiteral("not readable")) &&
                     s.reason.contains(QStringLiteral("energy_uj")),
                 qPrintable(s.reason));
    }

    void permissionDeniedMessageNamesTheFix()
    {
        const QString path = QStringLiteral("/sys/class/powercap/intel-rapl:0/energy_uj");
        const QString msg = RaplPowercapMeter::readErrorMessage(path, EACCES);
        QVERIFY2(msg.startsWith(QStringLiteral("cannot read ") + path +
                                QStringLiteral(": Permission denied")),
                 qPrintable(msg));
        QVERIFY(msg.contains(QStringLiteral("root only")));
        QVERIFY(msg.contains(QStringLiteral("CVE-2020-8694")));
        QVERIFY(msg.contains(QStringLiteral("scripts/grant-rapl-access.sh")));
        QVERIFY(RaplPowercapMeter::readErrorMessage(path, EPERM)
                    .contains(QStringLiteral("grant-rapl-access")));
        // Other causes do not get the permission advice.
        QVERIFY(
            !RaplPowercapMeter::readErrorMessage(path, ENOENT).contains(QStringLiteral("grant")));
    }

    void permissionDeniedForRealWhenNotRoot()
    {
        if (geteuid() == 0)
            QSKIP(
                "running as root: chmod 000 does not stop root from reading (see the test above)");
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        QVERIFY(tree.addZone(QStringLiteral("intel-rapl:0"), QStringLiteral("package-0"), 1));
        QVERIFY(QFile::setPermissions(tree.zoneDir(QStringLiteral("intel-rapl:0")) +
                                          QStringLiteral("/energy_uj"),
                                      QFileDevice::Permissions()));
        const MeterStatus s = RaplPowercapMeter::probe(tree.root());
        QVERIFY(!s.readable);
        QVERIFY2(s.reason.contains(QStringLiteral("permission denied")) &&
                     s.reason.contains(QStringLiteral("grant-rapl-access.sh")),
                 qPrintable(s.reason));
    }

    void noTreeOrEmptyTreeIsNotPresent()
    {
        QTemporaryDir dir;
        const MeterStatus none = RaplPowercapMeter::probe(dir.path() + QStringLiteral("/nothing"));
        QVERIFY(!none.present);
        QVERIFY(!none.readable);
        QVERIFY2(none.reason.contains(QStringLiteral("no powercap tree")), qPrintable(none.reason));
        const MeterStatus empty = RaplPowercapMeter::probe(dir.path());
        QVERIFY(!empty.present);
        QVERIFY2(empty.reason.contains(QStringLiteral("no intel-rapl:* zone")),
                 qPrintable(empty.reason));
    }

    void rootComesFromTheEnvironment()
    {
        qputenv("JOULEBENCH_POWERCAP_ROOT", "/tmp/some/where");
        QCOMPARE(RaplPowercapMeter::defaultRoot(), QStringLiteral("/tmp/some/where"));
        qunsetenv("JOULEBENCH_POWERCAP_ROOT");
        QCOMPARE(RaplPowercapMeter::defaultRoot(), QStringLiteral("/sys/class/powercap"));
    }
};

QTEST_GUILESS_MAIN(TestPowercap)
#include "tst_powercap.moc"
