// SPDX-License-Identifier: GPL-3.0-or-later
// Discovery of all meters and the choice of meters: defaults, explicit lists, clear errors.
#include "fake_powercap.h"

#include "measurement/meter_registry.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace jb;
using jb::test::FakePowercapTree;

namespace {

QStringList ids(const QList<std::shared_ptr<Meter>> &meters)
{
    QStringList list;
    for (const auto &m : meters)
        list.append(m->id());
    return list;
}

} // namespace

class TestMeterRegistry : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::unique_ptr<FakePowercapTree> m_tree;
    DiscoveryOptions options(bool withTree, bool withNvml)
    {
        DiscoveryOptions o;
        o.powercapRoot = withTree ? m_dir.path() + QStringLiteral("/sys/class/powercap")
                                  : m_dir.path() + QStringLiteral("/no-powercap");
        o.perfEventRoot = m_dir.path() + QStringLiteral("/no-power-pmu");
        o.nvmlLibrary =
            withNvml ? QStringLiteral(JB_FAKE_NVML) : m_dir.path() + QStringLiteral("/no-nvml.so");
        o.estimateTdpW = 45;
        o.procStat = QStringLiteral("/proc/stat");
        return o;
    }

private Q_SLOTS:
    void initTestCase()
    {
        qputenv("FAKE_NVML_DEVICES", "1");
        m_tree = std::make_unique<FakePowercapTree>(m_dir.path());
        m_tree->buildIntelTwoPackages();
        QVERIFY(m_tree->writeFile(QStringLiteral("intel-rapl:1:2"), QStringLiteral("energy_uj"),
                                  "bad\n"));
    }

    void knowsItsMeters()
    {
        const MeterRegistry r = MeterRegistry::builtIn();
        QCOMPARE(r.selectableIds(),
                 QStringList({QStringLiteral("rapl"), QStringLiteral("rapl-powercap"),
                              QStringLiteral("rapl-perf"), QStringLiteral("nvml"),
                              QStringLiteral("estimate")}));
        const QList<MeterStatus> found = r.discover(options(false, false));
        QCOMPARE(found.size(), 4);
        QCOMPARE(found[0].id, QStringLiteral("rapl-powercap"));
        QCOMPARE(found[3].id, QStringLiteral("estimate"));
        QCOMPARE(found[3].kind, MeterKind::Estimate);
        QVERIFY(found[3].readable);
        for (int i = 0; i < 3; ++i) {
            QVERIFY(!found[i].readable);
            QVERIFY(!found[i].reason.isEmpty());
        }
    }

    void defaultTakesEveryMeasuredMeter()
    {
        const MeterRegistry r = MeterRegistry::builtIn();
        const QList<MeterStatus> found = r.discover(options(true, true));
        QString error;
        const auto sel = r.selectDefault(found, &error);
        QVERIFY2(sel, qPrintable(error));
        QCOMPARE(ids(sel->meters),
                 QStringList({QStringLiteral("rapl-powercap"), QStringLiteral("nvml")}));
        QVERIFY(!sel->estimateOnly());
        // The broken DRAM zone is left out, and said so.
        QCOMPARE(sel->warnings.size(), 1);
        QVERIFY2(sel->warnings[0].startsWith(
                     QStringLiteral("rapl-powercap: domain package-1/dram left out: ")),
                 qPrintable(sel->warnings[0]));
    }

    void defaultFallsBackToTheEstimateAndSaysWhy()
    {
        const MeterRegistry r = MeterRegistry::builtIn();
        const QList<MeterStatus> found = r.discover(options(false, false));
        QString error;
        const auto sel = r.selectDefault(found, &error);
        QVERIFY2(sel, qPrintable(error));
        QCOMPARE(ids(sel->meters), QStringList({QStringLiteral("estimate")}));
        QVERIFY(sel->estimateOnly());
        QCOMPARE(sel->warnings.size(), 1);
        const QString w = sel->warnings[0];
        QVERIFY2(w.startsWith(QStringLiteral(
                     "no hardware energy counter readable: rapl-powercap: not present")),
                 qPrintable(w));
        QVERIFY(w.contains(QStringLiteral("rapl-perf: not present")));
        QVERIFY(w.contains(QStringLiteral("nvml: not present")));
        QVERIFY(w.contains(
            QStringLiteral("; using the CPU-time estimate (TDP 45 W x busy fraction) instead")));
    }

    void explicitChoice()
    {
        const MeterRegistry r = MeterRegistry::builtIn();
        const QList<MeterStatus> found = r.discover(options(true, false));
        QString error;
        auto sel = r.select(
            found,
            {QStringLiteral("rapl"), QStringLiteral("estimate"), QStringLiteral("rapl-powercap")},
            &error);
        QVERIFY2(sel, qPrintable(error));
        QCOMPARE(ids(sel->meters),
                 QStringList({QStringLiteral("rapl-powercap"), QStringLiteral("estimate")}));

        QVERIFY(!r.select(found, {QStringLiteral("nvml")}, &error));
        QVERIFY2(error.startsWith(
                     QStringLiteral("meter 'nvml' cannot be used: nvml: not present: cannot load")),
                 qPrintable(error));
        QVERIFY(error.contains(QStringLiteral("JOULEBENCH_NVML_LIBRARY")));

        QVERIFY(!r.select(found, {QStringLiteral("rapl-perf")}, &error));
        QVERIFY2(error.contains(QStringLiteral("no power PMU")), qPrintable(error));

        QVERIFY(!r.select(found, {QStringLiteral("watts")}, &error));
        QVERIFY2(error.startsWith(
                     QStringLiteral("unknown meter 'watts'; known meters: rapl, rapl-powercap")),
                 qPrintable(error));
        QVERIFY(!r.select(found, {}, &error));
    }

    void groupExplainsEveryAlternative()
    {
        const MeterRegistry r = MeterRegistry::builtIn();
        const QList<MeterStatus> found = r.discover(options(false, false));
        QString error;
        QVERIFY(!r.select(found, {QStringLiteral("rapl")}, &error));
        QVERIFY2(error.contains(QStringLiteral("rapl-powercap: not present")) &&
                     error.contains(QStringLiteral("rapl-perf: not present")),
                 qPrintable(error));
    }
};

QTEST_GUILESS_MAIN(TestMeterRegistry)
#include "tst_meter_registry.moc"
