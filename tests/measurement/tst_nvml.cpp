// SPDX-License-Identifier: GPL-3.0-or-later
// NVML loaded with dlopen, against a fake libnvidia-ml built beside this test: energy counter
// present, absent (power integration), nvmlInit failing, library or symbol missing.
#include "measurement/nvml_meter.h"

#include <QThread>
#include <QtTest>

using namespace jb;

class TestNvml : public QObject
{
    Q_OBJECT

private:
    static void setFake(const char *energy, const char *powerMw, const char *devices,
                        const char *initFail = "0")
    {
        qputenv("FAKE_NVML_ENERGY", energy);
        qputenv("FAKE_NVML_POWER_MW", powerMw);
        qputenv("FAKE_NVML_DEVICES", devices);
        qputenv("FAKE_NVML_INIT_FAIL", initFail);
    }

    // Reads over ~200 ms and checks the energy lies within power x the bracketing intervals.
    static void checkEnergyAtPower(Meter &meter, double powerW)
    {
        std::vector<double> j(static_cast<size_t>(meter.domains().size()));
        QString error;
        const double t0 = monotonicSeconds();
        QVERIFY2(meter.start(&error), qPrintable(error));
        const double t1 = monotonicSeconds();
        QThread::msleep(100);
        QVERIFY(meter.read(j, &error)); // an intermediate read (integration step)
        QThread::msleep(100);
        const double t2 = monotonicSeconds();
        QVERIFY2(meter.read(j, &error), qPrintable(error));
        const double t3 = monotonicSeconds();
        for (double e : j) {
            // the counter has millijoule resolution
            QVERIFY2(e >= powerW * (t2 - t1) - 0.002 && e <= powerW * (t3 - t0) + 0.002,
                     qPrintable(QStringLiteral("%1 J outside [%2, %3]")
                                    .arg(e)
                                    .arg(powerW * (t2 - t1))
                                    .arg(powerW * (t3 - t0))));
        }
    }

private Q_SLOTS:
    void energyCounterPresent()
    {
        setFake("present", "150000", "2");
        const MeterStatus s = NvmlMeter::probe(QStringLiteral(JB_FAKE_NVML));
        QVERIFY2(s.readable, qPrintable(s.reason));
        QCOMPARE(s.id, QStringLiteral("nvml"));
        const QList<DomainInfo> d = s.meter->domains();
        QCOMPARE(d.size(), 2);
        QCOMPARE(d[0].name, QStringLiteral("gpu-0"));
        QCOMPARE(d[1].name, QStringLiteral("gpu-1"));
        QCOMPARE(d[0].method, QStringLiteral("counter"));
        QCOMPARE(d[0].kind, MeterKind::Measured);
        QVERIFY(d[0].source.contains(QStringLiteral("Fake GPU")));
        QCOMPARE(s.meter->counterUpdateIntervalS(), NvmlMeter::kCounterUpdateS);
        checkEnergyAtPower(*s.meter, 150.0);
    }

    void powerIntegrationWhenNoCounter()
    {
        setFake("absent", "80000", "1");
        const MeterStatus s = NvmlMeter::probe(QStringLiteral(JB_FAKE_NVML));
        QVERIFY2(s.readable, qPrintable(s.reason));
        const DomainInfo d = s.meter->domains().at(0);
        QCOMPARE(d.method, QStringLiteral("power-integration"));
        QVERIFY(d.note.contains(QStringLiteral("nvmlDeviceGetPowerUsage")));
        QVERIFY(s.domains.at(0).problem.contains(QStringLiteral("no energy counter")));
        QCOMPARE(s.meter->counterUpdateIntervalS(), NvmlMeter::kPowerUpdateS);
        checkEnergyAtPower(*s.meter, 80.0);
    }

    void initFailureIsReported()
    {
        setFake("present", "1000", "1", "1");
        const MeterStatus s = NvmlMeter::probe(QStringLiteral(JB_FAKE_NVML));
        QVERIFY(s.present);
        QVERIFY(!s.readable);
        QVERIFY(!s.meter);
        QVERIFY2(s.reason.contains(QStringLiteral("nvmlInit_v2 returned 9 (Driver Not Loaded)")) &&
                     s.reason.contains(QStringLiteral("nvidia-smi")),
                 qPrintable(s.reason));
    }

    void noGpuIsNotPresent()
    {
        setFake("present", "1000", "0");
        const MeterStatus s = NvmlMeter::probe(QStringLiteral(JB_FAKE_NVML));
        QVERIFY(!s.present);
        QVERIFY(!s.readable);
        QVERIFY2(s.reason.contains(QStringLiteral("no GPU")), qPrintable(s.reason));
    }

    void missingLibraryOrSymbol()
    {
        const MeterStatus none = NvmlMeter::probe(QStringLiteral("/nonexistent/libnvidia-ml.so.1"));
        QVERIFY(!none.present);
        QVERIFY2(
            none.reason.contains(QStringLiteral("cannot load /nonexistent/libnvidia-ml.so.1")) &&
                none.reason.contains(QStringLiteral("JOULEBENCH_NVML_LIBRARY")),
            qPrintable(none.reason));
        setFake("present", "1000", "1");
        const MeterStatus old = NvmlMeter::probe(QStringLiteral(JB_FAKE_NVML_OLD));
        QVERIFY(!old.readable);
        QVERIFY2(old.reason.contains(
                     QStringLiteral("does not export nvmlDeviceGetTotalEnergyConsumption")),
                 qPrintable(old.reason));
    }

    void libraryFromTheEnvironment()
    {
        qputenv("JOULEBENCH_NVML_LIBRARY", JB_FAKE_NVML);
        QCOMPARE(NvmlMeter::defaultLibrary(), QStringLiteral(JB_FAKE_NVML));
        qunsetenv("JOULEBENCH_NVML_LIBRARY");
        QCOMPARE(NvmlMeter::defaultLibrary(), QStringLiteral("libnvidia-ml.so.1"));
    }
};

QTEST_GUILESS_MAIN(TestNvml)
#include "tst_nvml.moc"
