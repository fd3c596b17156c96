// SPDX-License-Identifier: GPL-3.0-or-later
// The Sampler: phase energies against a fake RAPL counter driven at a known power across many
// wraps, the streaming and series API, rate limits and read failures.
#include "fake_powercap.h"

#include "measurement/rapl_powercap_meter.h"
#include "measurement/sampler.h"

#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

#include <cmath>

using namespace jb;
using jb::test::FakePowercapTree;
using jb::test::PowerWriter;

class TestSampler : public QObject
{
    Q_OBJECT

private:
    // Drives package-0 at 40 W with the given counter range, measures two phases of ~0.9 s,
    // and checks both against the counter's true increments and against 40 W x duration.
    void checkPhaseAccuracy(quint64 rangeUj, double requestedRateHz, quint64 minWraps)
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        const quint64 start = rangeUj - rangeUj / 10; // first wrap comes early
        QVERIFY(tree.addZone(QStringLiteral("intel-rapl:0"), QStringLiteral("package-0"), start,
                             rangeUj));
        MeterStatus s = RaplPowercapMeter::probe(tree.root());
        QVERIFY2(s.readable, qPrintable(s.reason));

        PowerWriter writer(tree, QStringLiteral("intel-rapl:0"), 40.0, rangeUj, start);
        writer.start();
        Sampler sampler;
        sampler.setMeters({s.meter});
        QString error;
        QVERIFY(sampler.setRate(requestedRateHz, &error));
        QVERIFY2(sampler.start(&error), qPrintable(error));
        const quint64 wrapsAtStart = writer.wraps();

        quint64 truth[3];
        truth[0] = writer.syncAndRun([&] { sampler.markPhase(QStringLiteral("a")); });
        QThread::msleep(900);
        truth[1] = writer.syncAndRun([&] { sampler.markPhase(QStringLiteral("b")); });
        QThread::msleep(900);
        truth[2] = writer.syncAndRun([&] { sampler.endPhase(); });
        const quint64 wrapsAtEnd = writer.wraps();
        sampler.stop();
        writer.stop();

        QVERIFY2(sampler.errors().isEmpty(), qPrintable(sampler.errors().join(QLatin1Char('\n'))));
        const QList<PhaseResult> phases = sampler.phases();
        QCOMPARE(phases.size(), 2);
        QVERIFY2(wrapsAtEnd - wrapsAtStart >= minWraps,
                 qPrintable(QStringLiteral("only %1 wraps").arg(wrapsAtEnd - wrapsAtStart)));
        QCOMPARE(s.meter->wrapCount(), wrapsAtEnd - wrapsAtStart);
        for (int i = 0; i < 2; ++i) {
            const PhaseResult &p = phases[i];
            const double trueJ = static_cast<double>(truth[i + 1] - truth[i]) * 1e-6;
            const double measured = p.domains[0].joules;
            const double nominal = 40.0 * p.durationS;
            qInfo("phase %s: %.6f J measured, %.6f J written (error %.4f %%), 40 W x %.4f s = "
                  "%.4f J (error %.4f %%), %.2f W average, %llu wraps in the run, %.0f Hz",
                  qPrintable(p.name), measured, trueJ, 100.0 * (measured - trueJ) / trueJ,
                  p.durationS, nominal, 100.0 * (measured - nominal) / nominal,
                  p.domains[0].averagePowerW,
                  static_cast<unsigned long long>(wrapsAtEnd - wrapsAtStart),
                  sampler.effectiveRate());
            QVERIFY2(std::abs(measured - trueJ) <= 0.005 * trueJ, "phase energy off the counter");
            QVERIFY2(std::abs(measured - nominal) <= 0.005 * nominal, "phase energy off 40 W x t");
            QVERIFY(std::abs(p.domains[0].averagePowerW - 40.0) <= 0.2);
            QVERIFY(!p.domains[0].tooShort);
        }
    }

private Q_SLOTS:
    void phaseEnergyAcrossWrapsAt40W()
    {
        // 20 J range at 40 W: a wrap every 0.5 s. The 10 Hz default is raised to the 50 Hz
        // that 20 J / 500 W / 2 = 20 ms requires.
        checkPhaseAccuracy(20000000, Sampler::kDefaultRateHz, 3);
    }

    void fastWrapsRaiseTheRate()
    {
        // 5 J range at 40 W: a wrap every 125 ms (14+ in the run); 10 Hz would miss most.
        checkPhaseAccuracy(5000000, 10.0, 14);
    }

    void rateRaisedAndSaidSo()
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        QVERIFY(
            tree.addZone(QStringLiteral("intel-rapl:0"), QStringLiteral("package-0"), 0, 5000000));
        MeterStatus s = RaplPowercapMeter::probe(tree.root());
        Sampler sampler;
        sampler.setMeters({s.meter});
        QString error;
        QVERIFY(sampler.setRate(10, &error));
        QVERIFY(sampler.start(&error));
        sampler.stop();
        QCOMPARE(sampler.effectiveRate(), 200.0); // 1 / (5 J / 500 W / 2)
        QVERIFY(sampler.warnings()
                    .join(QLatin1Char(' '))
                    .contains(QStringLiteral("raised from 10 Hz to 200 Hz")));
    }

    void phasesSeriesAndStreaming()
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        tree.buildIntelTwoPackages();
        MeterStatus s = RaplPowercapMeter::probe(tree.root());
        QVERIFY(s.readable);
        Sampler sampler;
        sampler.setMeters({s.meter});
        QString error;
        QVERIFY(sampler.setRate(100, &error));
        QCOMPARE(sampler.domains().size(), 9);
        QCOMPARE(sampler.domains().at(1).info.name, QStringLiteral("package-0/core"));
        QVERIFY(sampler.start(&error));

        QVERIFY(sampler.markPhase(QStringLiteral("load")));
        QVERIFY(tree.setEnergy(QStringLiteral("intel-rapl:0"), 1000000 + 3000000)); // +3 J
        QVERIFY(tree.setEnergy(QStringLiteral("intel-rapl:0:2"), 200000 + 500000)); // dram +0.5 J
        QThread::msleep(150);
        const QList<SampleRow> first = sampler.takeNewSamples();
        QVERIFY(first.size() >= 5);
        QCOMPARE(first.first().timeS, sampler.samples().first().timeS);
        QCOMPARE(first.first().joules.size(), 9);
        QVERIFY(sampler.markPhase(QStringLiteral("idle")));
        QThread::msleep(150);
        QVERIFY(sampler.markPhase(QStringLiteral("blink")));
        QVERIFY(sampler.markPhase(QStringLiteral("after")));
        sampler.stop();
        const QList<SampleRow> rest = sampler.takeNewSamples();
        QCOMPARE(first.size() + rest.size(), sampler.sampleCount());
        QVERIFY(sampler.takeNewSamples().isEmpty());
        QVERIFY(rest.first().timeS > first.last().timeS);

        const QList<PhaseResult> phases = sampler.phases();
        QCOMPARE(phases.size(), 4);
        QCOMPARE(phases[0].name, QStringLiteral("load"));
        QCOMPARE(phases[0].domains[0].domain, QStringLiteral("package-0"));
        QCOMPARE(phases[0].domains[0].joules, 3.0);
        QCOMPARE(phases[0].domains[3].joules, 0.5);
        QCOMPARE(phases[0].domains[1].joules, 0.0);
        QVERIFY(phases[0].durationS >= 0.14 && phases[0].durationS < 1.0);
        QCOMPARE(phases[0].domains[0].averagePowerW, 3.0 / phases[0].durationS);
        QCOMPARE(phases[0].domains[0].kind, MeterKind::Measured);
        QVERIFY(!phases[0].domains[0].tooShort);
        QCOMPARE(phases[1].domains[0].joules, 0.0);
        QCOMPARE(phases[1].startS, phases[0].endS);
        QVERIFY(phases[2].durationS < 0.01);
        QVERIFY(phases[2].domains[0].tooShort);            // shorter than 10 x 1 ms
        QCOMPARE(phases[3].name, QStringLiteral("after")); // closed by stop()

        const QList<SeriesPoint> series = sampler.series(0);
        QCOMPARE(series.size(), sampler.sampleCount());
        for (qsizetype i = 1; i < series.size(); ++i)
            QVERIFY(series[i].timeS >= series[i - 1].timeS);
        QCOMPARE(series.last().joules, 3.0);
        QCOMPARE(sampler.series(3).last().joules, 0.5);
        QVERIFY(sampler.series(99).isEmpty());
        QVERIFY(sampler.threadCpuSeconds() > 0);
    }

    void readsAtTheConfiguredRate()
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        QVERIFY(tree.addZone(QStringLiteral("intel-rapl:0"), QStringLiteral("package-0"), 0));
        MeterStatus s = RaplPowercapMeter::probe(tree.root());
        Sampler sampler;
        sampler.setMeters({s.meter});
        QString error;
        QVERIFY(sampler.setRate(100, &error));
        QVERIFY(sampler.start(&error));
        QThread::msleep(500);
        sampler.stop();
        // 1 (start) + ~50 periodic + 1 (stop); a loaded machine may skip some ticks.
        QVERIFY2(sampler.sampleCount() >= 30 && sampler.sampleCount() <= 53,
                 qPrintable(QString::number(sampler.sampleCount())));
    }

    void rateLimitsAndMisuse()
    {
        Sampler sampler;
        QString error;
        QVERIFY(!sampler.setRate(0.5, &error));
        QVERIFY(error.contains(QStringLiteral("outside 1..1000 Hz")));
        QVERIFY(!sampler.setRate(1001, &error));
        QVERIFY(sampler.setRate(1000, &error));
        QCOMPARE(sampler.rate(), 1000.0);
        QVERIFY(!sampler.start(&error));
        QVERIFY(error.contains(QStringLiteral("setMeters")));
        QVERIFY(!sampler.markPhase(QStringLiteral("x")));
        sampler.stop(); // harmless when not running
    }

    void readFailuresBecomeNaNAndErrors()
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        QVERIFY(tree.addZone(QStringLiteral("intel-rapl:0"), QStringLiteral("package-0"), 0));
        MeterStatus s = RaplPowercapMeter::probe(tree.root());
        Sampler sampler;
        sampler.setMeters({s.meter});
        QString error;
        QVERIFY(sampler.start(&error));
        QVERIFY(sampler.markPhase(QStringLiteral("broken")));
        QVERIFY(tree.writeFile(QStringLiteral("intel-rapl:0"), QStringLiteral("energy_uj"),
                               "garbage\n"));
        QThread::msleep(250);
        sampler.stop();
        const QStringList errors = sampler.errors();
        QCOMPARE(errors.size(), 1);
        QVERIFY2(errors[0].startsWith(QStringLiteral("rapl-powercap: ")) &&
                     errors[0].contains(QStringLiteral("holds 'garbage'")),
                 qPrintable(errors[0]));
        QVERIFY(std::isnan(sampler.phases().at(0).domains.at(0).joules));
    }
};

QTEST_GUILESS_MAIN(TestSampler)
#include "tst_sampler.moc"
