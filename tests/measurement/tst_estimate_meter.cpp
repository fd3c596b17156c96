// SPDX-License-Identifier: GPL-3.0-or-later
// The CPU-time estimate: /proc/stat parsing, the formula TDP x busy fraction x time, and that it
// is always labelled an estimate.
#include "measurement/estimate_meter.h"

#include <QFile>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

using namespace jb;

namespace {

void writeStat(const QString &path, quint64 user, quint64 system, quint64 idle)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(QStringLiteral("cpu  %1 0 %2 %3 0 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\nintr 1 2 3\n")
                .arg(user)
                .arg(system)
                .arg(idle)
                .toLatin1());
}

} // namespace

class TestEstimateMeter : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void parsesTheAggregateLine()
    {
        QString error;
        const auto t =
            EstimateMeter::parseProcStat("cpu  100 5 50 1000 20 3 2 7 9 9\ncpu0 1\n", &error);
        QVERIFY2(t, qPrintable(error));
        QCOMPARE(t->busy, quint64(100 + 5 + 50 + 3 + 2)); // user nice system irq softirq
        QCOMPARE(t->total, quint64(100 + 5 + 50 + 3 + 2 + 1000 + 20 + 7)); // + idle iowait steal
        const auto old = EstimateMeter::parseProcStat("cpu 10 0 10 80\n", &error); // old kernels
        QVERIFY(old);
        QCOMPARE(old->busy, quint64(20));
        QCOMPARE(old->total, quint64(100));
        QVERIFY(!EstimateMeter::parseProcStat("cpu0 1 2 3 4\n", &error));
        QVERIFY(error.contains(QStringLiteral("'cpu '")));
        QVERIFY(!EstimateMeter::parseProcStat("cpu  1 x 3 4\n", &error));
        QVERIFY(error.contains(QStringLiteral("field 2")));
        QVERIFY(!EstimateMeter::parseProcStat("cpu  1 2\n", &error));
    }

    void formula()
    {
        // 50 busy ticks of 200: a quarter of the CPU, 100 W TDP, 2 s -> 50 J.
        QCOMPARE(EstimateMeter::energyJ(100.0, {0, 0}, {50, 200}, 2.0), 50.0);
        QCOMPARE(EstimateMeter::energyJ(100.0, {10, 100}, {10, 100}, 2.0), 0.0);
    }

    void integratesOverReads()
    {
        QTemporaryDir dir;
        const QString stat = dir.path() + QStringLiteral("/stat");
        writeStat(stat, 1000, 500, 8500);
        const MeterStatus s = EstimateMeter::probe(80.0, stat);
        QVERIFY2(s.readable, qPrintable(s.reason));
        QCOMPARE(s.kind, MeterKind::Estimate);
        const DomainInfo d = s.meter->domains().at(0);
        QCOMPARE(d.name, QStringLiteral("cpu"));
        QCOMPARE(d.kind, MeterKind::Estimate);
        QCOMPARE(d.method, QStringLiteral("cpu-time-x-tdp"));
        QVERIFY(d.note.contains(QStringLiteral("estimate")));
        QVERIFY(s.meter->displayName().contains(QStringLiteral("estimate")));
        QCOMPARE(s.meter->counterUpdateIntervalS(), 0.01);

        QString error;
        std::vector<double> j(1);
        QVERIFY(s.meter->start(&error));
        QThread::msleep(100);
        const double m0 = monotonicSeconds();
        QVERIFY(s.meter->read(j, &error)); // no tick yet: u = 0, nothing counted
        const double m1 = monotonicSeconds();
        QCOMPARE(j[0], 0.0);
        QThread::msleep(100);
        writeStat(stat, 1000 + 20, 500 + 10, 8500 + 70); // 30 % busy
        const double t2 = monotonicSeconds();
        QVERIFY(s.meter->read(j, &error)); // charged to the interval since the previous read
        const double t3 = monotonicSeconds();
        const double k = 80.0 * 0.3;
        QVERIFY2(j[0] >= k * (t2 - m1) && j[0] <= k * (t3 - m0), qPrintable(QString::number(j[0])));
        // No new tick: the last fraction (30 %) carries on over the next interval.
        const double before = j[0];
        QThread::msleep(50);
        const double t4 = monotonicSeconds();
        QVERIFY(s.meter->read(j, &error));
        const double t5 = monotonicSeconds();
        QVERIFY2(j[0] - before >= k * (t4 - t3) && j[0] - before <= k * (t5 - t2),
                 qPrintable(QString::number(j[0] - before)));
        // Idle counters that went backwards (seen with NO_HZ idle accounting) never give u > 1.
        writeStat(stat, 1000 + 40, 500 + 20, 8500 + 10);
        const double e1 = j[0];
        const double t6 = monotonicSeconds();
        QVERIFY(s.meter->read(j, &error));
        QVERIFY(j[0] - e1 <= 80.0 * (monotonicSeconds() - t6 + (t6 - t5)) + 1e-9);
    }

    void realProcStatAndBadInput()
    {
        const MeterStatus real = EstimateMeter::probe(65.0, QStringLiteral("/proc/stat"));
        QVERIFY2(real.readable, qPrintable(real.reason));
        QVERIFY(real.present);
        const MeterStatus zero = EstimateMeter::probe(0.0, QStringLiteral("/proc/stat"));
        QVERIFY(!zero.readable);
        QVERIFY(zero.reason.contains(QStringLiteral("TDP must be a positive number")));
        QTemporaryDir dir;
        const QString stat = dir.path() + QStringLiteral("/stat");
        QFile f(stat);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("nonsense\n");
        f.close();
        const MeterStatus bad = EstimateMeter::probe(65.0, stat);
        QVERIFY(!bad.readable);
        QVERIFY2(bad.reason.contains(stat), qPrintable(bad.reason));
    }

    void tdpFromTheEnvironment()
    {
        qputenv("JOULEBENCH_ESTIMATE_TDP_W", "28.5");
        QCOMPARE(EstimateMeter::defaultTdpW(), 28.5);
        qputenv("JOULEBENCH_ESTIMATE_TDP_W", "-3");
        QCOMPARE(EstimateMeter::defaultTdpW(), EstimateMeter::kDefaultTdpW);
        qunsetenv("JOULEBENCH_ESTIMATE_TDP_W");
        QCOMPARE(EstimateMeter::defaultTdpW(), 65.0);
    }
};

QTEST_GUILESS_MAIN(TestEstimateMeter)
#include "tst_estimate_meter.moc"
