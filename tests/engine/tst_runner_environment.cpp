// SPDX-License-Identifier: GPL-3.0-or-later
// The environment record and the run-condition checks on fake sysfs and /proc/stat files:
// cpufreq, thermal throttle counters, the background-load arithmetic, and what the record says
// about meters and software.
#include "engine/run_environment.h"
#include "measurement/meter_registry.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace Qt::StringLiterals;
using namespace jb;

namespace {

void write(const QString &path, const QByteArray &content)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) || f.write(content) != content.size())
        qFatal("cannot write %s", qPrintable(path));
}

// /proc/stat with the given busy (user) and idle ticks.
QByteArray procStat(quint64 user, quint64 idle)
{
    return "cpu  " + QByteArray::number(user) + " 0 0 " + QByteArray::number(idle) +
           " 0 0 0 0 0 0\ncpu0 1 0 0 1 0 0 0 0 0 0\n";
}

} // namespace

class TestRunnerEnvironment : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void cpufreqIsReadWhereItExists()
    {
        QTemporaryDir dir;
        const QString root = dir.path();
        for (int cpu : {0, 1, 10}) {
            const QString f = root + u"/cpu%1/cpufreq/"_s.arg(cpu);
            write(f + u"scaling_governor"_s, cpu == 1 ? "powersave\n" : "performance\n");
            write(f + u"scaling_driver"_s, "intel_pstate\n");
            write(f + u"cpuinfo_min_freq"_s, "800000\n");
            write(f + u"cpuinfo_max_freq"_s, "4200000\n");
            write(f + u"scaling_cur_freq"_s, QByteArray::number(1000000 * (cpu + 1)) + '\n');
        }
        QDir().mkpath(root + u"/cpufreq"_s); // not a CPU
        QDir().mkpath(root + u"/cpuidle"_s);
        const CpuFrequencyState s = readCpuFrequency(root);
        QVERIFY(s.readable);
        QCOMPARE(s.governors, (QStringList{u"performance"_s, u"powersave"_s}));
        QCOMPARE(s.driver, u"intel_pstate"_s);
        QCOMPARE(s.minMHz, 800.0);
        QCOMPARE(s.maxMHz, 4200.0);
        QCOMPARE(s.currentMHz, (QList<double>{1000.0, 2000.0, 11000.0})); // numeric CPU order
        QCOMPARE(s.meanCurrentMHz(), 14000.0 / 3);
        QCOMPARE(s.toJson().value(u"governors"_s).toArray().size(), 2);

        QTemporaryDir vm;
        QDir().mkpath(vm.path() + u"/cpu0"_s);
        const CpuFrequencyState none = readCpuFrequency(vm.path());
        QVERIFY(!none.readable);
        QVERIFY(none.note.contains(u"no cpufreq"_s));
        QVERIFY(!none.toJson().value(u"readable"_s).toBool());
    }

    void throttleCountersAreSummed()
    {
        QTemporaryDir dir;
        write(dir.filePath(u"cpu0/thermal_throttle/core_throttle_count"_s), "3\n");
        write(dir.filePath(u"cpu0/thermal_throttle/package_throttle_count"_s), "4\n");
        write(dir.filePath(u"cpu1/thermal_throttle/core_throttle_count"_s), "5\n");
        write(dir.filePath(u"cpu1/thermal_throttle/core_throttle_max_time_ms"_s), "99\n");
        const ThrottleState t = readThrottleCounters(dir.path());
        QVERIFY(t.readable);
        QCOMPARE(t.counters, 3);
        QCOMPARE(t.events, quint64(12));
        QTemporaryDir empty;
        QVERIFY(!readThrottleCounters(empty.path()).readable);
    }

    void backgroundLoadIsOthersCpuTimePerWallSecond()
    {
        // 2 s wall; the machine was busy 300 ticks (3 s at 100 Hz); we used 1 s: 1 core others.
        const CpuLoadSample a{10.0, 1000, 5.0};
        const CpuLoadSample b{12.0, 1300, 6.0};
        QCOMPARE(backgroundLoadCores(a, b, 100.0), 1.0);
        // Our own time exceeds the (coarser) tick count: never negative.
        QCOMPARE(backgroundLoadCores(a, {12.0, 1000, 7.0}, 100.0), 0.0);
        QVERIFY(std::isnan(backgroundLoadCores(a, a, 100.0)));
        QCOMPARE(clockTicksPerSecond(), 100.0); // Linux USER_HZ
    }

    void sampleCpuLoadReadsProcStat()
    {
        QTemporaryDir dir;
        const QString stat = dir.filePath(u"stat"_s);
        write(stat, procStat(1234, 99));
        QString error;
        const auto s = sampleCpuLoad(stat, &error);
        QVERIFY2(s, qPrintable(error));
        QCOMPARE(s->busyTicks, quint64(1234));
        QVERIFY(s->ownCpuS > 0);
        write(stat, "garbage\n");
        QVERIFY(!sampleCpuLoad(stat, &error));
        QVERIFY2(error.contains(stat), qPrintable(error));
    }

    void conditionsProbeSeesThrottlingAndLoad()
    {
        QTemporaryDir dir;
        const QString stat = dir.filePath(u"stat"_s);
        const QString cpu = dir.filePath(u"cpu"_s);
        write(stat, procStat(1000, 5000));
        write(cpu + u"/cpu0/thermal_throttle/core_throttle_count"_s, "7\n");
        RunConditionsProbe probe(stat, cpu);
        probe.start();
        write(stat, procStat(1000 + 100000, 5000)); // 1000 s of other work: a busy machine
        write(cpu + u"/cpu0/thermal_throttle/core_throttle_count"_s, "9\n");
        const RunConditionsProbe::Result r = probe.finish();
        QVERIFY(r.loadChecked);
        QVERIFY(r.backgroundLoadCores > 100);
        QVERIFY(r.throttleReadable);
        QCOMPARE(r.throttleEvents, 2.0);
        QCOMPARE(r.meanFrequencyEndMHz, 0.0); // no cpufreq in the fake tree

        RunConditionsProbe missing(dir.filePath(u"nope"_s), cpu);
        missing.start();
        const RunConditionsProbe::Result m = missing.finish();
        QVERIFY(!m.loadChecked);
        QVERIFY(m.loadError.contains(u"nope"_s));
    }

    void environmentRecordsMetersAndSoftware()
    {
        const MeterRegistry registry = MeterRegistry::builtIn();
        DiscoveryOptions o = DiscoveryOptions::fromEnvironment();
        QString error;
        const auto selection = registry.select(registry.discover(o), {u"estimate"_s}, &error);
        QVERIFY2(selection, qPrintable(error));
        QTemporaryDir cpu;
        const QJsonObject env = captureEnvironment(
            {selection->meters, {u"a warning"_s}, QJsonObject{{u"cpuModel"_s, u"Test CPU"_s}},
             cpu.path()});
        QVERIFY(!env.value(u"host"_s).toString().isEmpty());
        QVERIFY(env.value(u"kernel"_s).toString().startsWith(u"Linux"_s));
        QCOMPARE(env.value(u"cpu"_s).toObject().value(u"model"_s).toString(), u"Test CPU"_s);
        const QJsonObject sw = env.value(u"software"_s).toObject();
        QCOMPARE(sw.value(u"joulebench"_s).toString(), QStringLiteral(JOULEBENCH_VERSION));
        QVERIFY(!sw.value(u"revision"_s).toString().isEmpty());
        QCOMPARE(sw.value(u"qtRuntime"_s).toString(), QString::fromLatin1(qVersion()));
        const QJsonArray meters = env.value(u"meters"_s).toArray();
        QCOMPARE(meters.size(), 1);
        QCOMPARE(meters.first().toObject().value(u"kind"_s).toString(), u"estimate"_s);
        QCOMPARE(meters.first()
                     .toObject()
                     .value(u"domains"_s)
                     .toArray()
                     .first()
                     .toObject()
                     .value(u"kind"_s)
                     .toString(),
                 u"estimate"_s);
        QCOMPARE(env.value(u"meterWarnings"_s).toArray().first().toString(), u"a warning"_s);
        QVERIFY(!env.value(u"cpufreq"_s).toObject().value(u"readable"_s).toBool());
        QVERIFY(env.value(u"memoryBytes"_s).toInteger() > 0);
    }
};

QTEST_GUILESS_MAIN(TestRunnerEnvironment)
#include "tst_runner_environment.moc"
