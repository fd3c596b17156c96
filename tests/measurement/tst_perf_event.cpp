// SPDX-License-Identifier: GPL-3.0-or-later
// RAPL through perf_event: the sysfs discovery and parsing on a fake "power" PMU directory.
// The perf_event_open() syscall itself needs a real RAPL PMU and cannot be tested here; only
// its failure on a PMU type the kernel does not have is checked.
#include "measurement/rapl_perf_meter.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace jb;

namespace {

void writeFile(const QString &path, const QByteArray &content)
{
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(content);
}

// The layout of /sys/bus/event_source/devices/power on a two-socket Intel server.
QString makePmu(const QTemporaryDir &dir, const QByteArray &type = "4242\n")
{
    const QString root = dir.path() + QStringLiteral("/power");
    QDir().mkpath(root + QStringLiteral("/events"));
    QDir().mkpath(root + QStringLiteral("/format"));
    writeFile(root + QStringLiteral("/type"), type);
    writeFile(root + QStringLiteral("/cpumask"), "0,28\n");
    writeFile(root + QStringLiteral("/format/event"), "config:0-7\n");
    const char *events[][2] = {{"energy-cores", "event=0x01"},
                               {"energy-pkg", "event=0x02"},
                               {"energy-ram", "event=0x03"},
                               {"energy-psys", "event=0x05"}};
    for (const auto &e : events) {
        const QString base = root + QStringLiteral("/events/") + QLatin1String(e[0]);
        writeFile(base, QByteArray(e[1]) + '\n');
        writeFile(base + QStringLiteral(".scale"), "2.3283064365386962890625e-10\n");
        writeFile(base + QStringLiteral(".unit"), "Joules\n");
    }
    return root;
}

} // namespace

class TestPerfEvent : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void describesThePmu()
    {
        QTemporaryDir dir;
        const QString root = makePmu(dir);
        QString error;
        const auto pmu = RaplPerfMeter::describePmu(root, &error);
        QVERIFY2(pmu, qPrintable(error));
        QCOMPARE(pmu->type, 4242);
        QCOMPARE(pmu->cpus, QList<int>({0, 28}));
        QCOMPARE(pmu->events.size(), 4);
        QCOMPARE(pmu->events[0].event, QStringLiteral("energy-cores"));
        QCOMPARE(pmu->events[0].config, quint64(0x01));
        QCOMPARE(pmu->events[1].event, QStringLiteral("energy-pkg"));
        QCOMPARE(pmu->events[1].config, quint64(0x02));
        QCOMPARE(pmu->events[1].scale, 2.3283064365386962890625e-10);
        QCOMPARE(pmu->events[1].unit, QStringLiteral("Joules"));
    }

    void eventConfigFollowsTheFormatFiles()
    {
        QTemporaryDir dir;
        const QString root = makePmu(dir);
        writeFile(root + QStringLiteral("/format/umask"), "config:8-15\n");
        writeFile(root + QStringLiteral("/format/split"), "config:0-3,32-35\n");
        QString error;
        QCOMPARE(RaplPerfMeter::parseEventConfig(QStringLiteral("event=0x02"), root, &error),
                 std::optional<quint64>(0x02));
        QCOMPARE(
            RaplPerfMeter::parseEventConfig(QStringLiteral("event=0x01,umask=0x10"), root, &error),
            std::optional<quint64>(0x1001));
        QCOMPARE(RaplPerfMeter::parseEventConfig(QStringLiteral("split=0xab"), root, &error),
                 std::optional<quint64>(0xaULL << 32 | 0xb));
        QVERIFY(!RaplPerfMeter::parseEventConfig(QStringLiteral("event=0x1ff"), root, &error));
        QVERIFY2(error.contains(QStringLiteral("does not fit")), qPrintable(error));
        QVERIFY(!RaplPerfMeter::parseEventConfig(QStringLiteral("nope=1"), root, &error));
        QVERIFY2(error.contains(QStringLiteral("no format file")), qPrintable(error));
        QVERIFY(!RaplPerfMeter::parseEventConfig(QStringLiteral("event=zz"), root, &error));
        // Without format/event, "event" fills config from bit 0.
        QVERIFY(QFile::remove(root + QStringLiteral("/format/event")));
        QCOMPARE(RaplPerfMeter::parseEventConfig(QStringLiteral("event=0x1ff"), root, &error),
                 std::optional<quint64>(0x1ff));
    }

    void cpuListsAndDomainNames()
    {
        QCOMPARE(RaplPerfMeter::parseCpuList(QStringLiteral("0")).value_or(QList<int>()),
                 QList<int>{0});
        QCOMPARE(RaplPerfMeter::parseCpuList(QStringLiteral("0-2,8\n")).value_or(QList<int>()),
                 (QList<int>{0, 1, 2, 8}));
        QVERIFY(!RaplPerfMeter::parseCpuList(QStringLiteral("")));
        QVERIFY(!RaplPerfMeter::parseCpuList(QStringLiteral("3-1")));
        QVERIFY(!RaplPerfMeter::parseCpuList(QStringLiteral("a")));
        QCOMPARE(RaplPerfMeter::domainName(QStringLiteral("energy-pkg"), 1),
                 QStringLiteral("package-1"));
        QCOMPARE(RaplPerfMeter::domainName(QStringLiteral("energy-cores"), 0),
                 QStringLiteral("package-0/core"));
        QCOMPARE(RaplPerfMeter::domainName(QStringLiteral("energy-gpu"), 0),
                 QStringLiteral("package-0/uncore"));
        QCOMPARE(RaplPerfMeter::domainName(QStringLiteral("energy-ram"), 1),
                 QStringLiteral("package-1/dram"));
        QCOMPARE(RaplPerfMeter::domainName(QStringLiteral("energy-psys"), 0),
                 QStringLiteral("psys"));
        QVERIFY(RaplPerfMeter::domainName(QStringLiteral("energy-psys"), 1).isEmpty());
        QVERIFY(RaplPerfMeter::domainName(QStringLiteral("energy-other"), 0).isEmpty());
    }

    void malformedDescriptionsNameTheFile()
    {
        QTemporaryDir dir;
        const QString root = makePmu(dir);
        QString error;
        writeFile(root + QStringLiteral("/events/energy-ram.unit"), "Watts\n");
        QVERIFY(!RaplPerfMeter::describePmu(root, &error));
        QVERIFY2(error.contains(QStringLiteral("energy-ram.unit is 'Watts'")), qPrintable(error));
        writeFile(root + QStringLiteral("/events/energy-ram.unit"), "Joules\n");
        writeFile(root + QStringLiteral("/events/energy-pkg.scale"), "-1\n");
        QVERIFY(!RaplPerfMeter::describePmu(root, &error));
        QVERIFY2(error.contains(QStringLiteral("energy-pkg.scale holds '-1'")), qPrintable(error));
        writeFile(root + QStringLiteral("/type"), "power\n");
        QVERIFY(!RaplPerfMeter::describePmu(root, &error));
        QVERIFY2(error.contains(QStringLiteral("type holds 'power'")), qPrintable(error));
    }

    void probeReportsAbsenceAndSyscallFailure()
    {
        QTemporaryDir dir;
        const MeterStatus none = RaplPerfMeter::probe(dir.path() + QStringLiteral("/none"));
        QVERIFY(!none.present);
        QVERIFY2(none.reason.contains(QStringLiteral("no power PMU")), qPrintable(none.reason));

        // A PMU type no kernel has: discovery works, perf_event_open fails, per domain.
        const MeterStatus s = RaplPerfMeter::probe(makePmu(dir, "999999\n"));
        QVERIFY(s.present);
        QVERIFY(!s.readable);
        QCOMPARE(s.domains.size(), 7); // 4 events on package 0, 3 on package 1 (psys once)
        QCOMPARE(s.domains[1].info.name, QStringLiteral("package-0"));
        QCOMPARE(s.domains[0].info.partOf, QStringLiteral("package-0"));
        QVERIFY2(
            s.reason.contains(QStringLiteral("perf_event_open(power/energy-cores, cpu 0) failed")),
            qPrintable(s.reason));
    }

    void rootFromTheEnvironment()
    {
        qputenv("JOULEBENCH_PERF_EVENT_ROOT", "/x/power");
        QCOMPARE(RaplPerfMeter::defaultRoot(), QStringLiteral("/x/power"));
        qunsetenv("JOULEBENCH_PERF_EVENT_ROOT");
        QCOMPARE(RaplPerfMeter::defaultRoot(),
                 QStringLiteral("/sys/bus/event_source/devices/power"));
    }
};

QTEST_GUILESS_MAIN(TestPerfEvent)
#include "tst_perf_event.moc"
