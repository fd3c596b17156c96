// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli meters / measure, run as the real binary on fake powercap trees, the fake NVML
// library, and with no counter at all (estimate only).
#include "fake_powercap.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

using jb::test::FakePowercapTree;
using jb::test::PowerWriter;

class TestCliMeasure : public QObject
{
    Q_OBJECT

private:
    struct Result
    {
        int code = -1;
        QString out;
        QString err;
    };
    QTemporaryDir m_dir;

    // Environment with no real meter reachable: only what the test points at.
    QProcessEnvironment env(const QString &powercapRoot = {}, const QString &nvml = {}) const
    {
        QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
        e.insert(QStringLiteral("JOULEBENCH_POWERCAP_ROOT"),
                 powercapRoot.isEmpty() ? m_dir.path() + QStringLiteral("/no-powercap")
                                        : powercapRoot);
        e.insert(QStringLiteral("JOULEBENCH_PERF_EVENT_ROOT"),
                 m_dir.path() + QStringLiteral("/no-pmu"));
        e.insert(QStringLiteral("JOULEBENCH_NVML_LIBRARY"),
                 nvml.isEmpty() ? m_dir.path() + QStringLiteral("/no-libnvidia-ml.so.1") : nvml);
        e.insert(QStringLiteral("JOULEBENCH_ESTIMATE_TDP_W"), QStringLiteral("50"));
        return e;
    }
    static Result cli(const QStringList &args, const QProcessEnvironment &environment)
    {
        QProcess p;
        p.setProcessEnvironment(environment);
        p.start(QStringLiteral(JB_CLI_PATH), args);
        if (!p.waitForFinished(60000))
            return {};
        return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()),
                QString::fromUtf8(p.readAllStandardError())};
    }
    static QJsonObject parse(const Result &r)
    {
        QJsonParseError e;
        const QJsonDocument doc = QJsonDocument::fromJson(r.out.toUtf8(), &e);
        if (e.error != QJsonParseError::NoError)
            qWarning("not JSON (%s): %s", qPrintable(e.errorString()), qPrintable(r.out));
        return doc.object();
    }
    static QJsonObject domain(const QJsonObject &measure, const QString &name)
    {
        for (const QJsonValue &v : measure.value(QStringLiteral("domains")).toArray()) {
            if (v.toObject().value(QStringLiteral("domain")).toString() == name)
                return v.toObject();
        }
        return {};
    }

private Q_SLOTS:
    void metersOnAFakeTree()
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        tree.buildIntelTwoPackages();
        QVERIFY(tree.replaceEnergyWithDirectory(QStringLiteral("intel-rapl:1:2")));
        const Result r =
            cli({QStringLiteral("meters"), QStringLiteral("--window"), QStringLiteral("0.1")},
                env(tree.root()));
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains(QStringLiteral("rapl-powercap  measured  readable")),
                 qPrintable(r.out));
        QVERIFY(r.out.contains(QStringLiteral("package-0/core")));
        QVERIFY(r.out.contains(QStringLiteral("psys")));
        QVERIFY(r.out.contains(QStringLiteral("0.00 W")));
        QVERIFY2(r.out.contains(QStringLiteral("package-1/dram")) &&
                     r.out.contains(QStringLiteral("not readable: cannot read")),
                 qPrintable(r.out));
        QVERIFY(r.out.contains(QStringLiteral("rapl-perf      measured  not present")));
        QVERIFY(r.out.contains(QStringLiteral("nvml           measured  not present")));
        QVERIFY(r.out.contains(QStringLiteral("estimate       estimate  readable")));
        QVERIFY(r.out.contains(QStringLiteral("W (estimate)")));
    }

    void metersReportsPowerAndNvml()
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        QVERIFY(tree.addZone(QStringLiteral("intel-rapl:0"), QStringLiteral("package-0"), 0,
                             1000000000));
        PowerWriter writer(tree, QStringLiteral("intel-rapl:0"), 40.0, 1000000000);
        writer.start();
        QProcessEnvironment e = env(tree.root(), QStringLiteral(JB_FAKE_NVML));
        e.insert(QStringLiteral("FAKE_NVML_POWER_MW"), QStringLiteral("120000"));
        e.insert(QStringLiteral("FAKE_NVML_ENERGY"), QStringLiteral("absent"));
        const Result r = cli({QStringLiteral("meters"), QStringLiteral("--json"),
                              QStringLiteral("--window"), QStringLiteral("0.4")},
                             e);
        writer.stop();
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const QJsonObject o = parse(r);
        QCOMPARE(o.value(QStringLiteral("window_s")).toDouble(), 0.4);
        const QJsonArray meters = o.value(QStringLiteral("meters")).toArray();
        QCOMPARE(meters.size(), 4);
        const QJsonObject rapl = meters[0].toObject();
        QCOMPARE(rapl.value(QStringLiteral("id")).toString(), QStringLiteral("rapl-powercap"));
        QVERIFY(rapl.value(QStringLiteral("readable")).toBool());
        const double w = rapl.value(QStringLiteral("domains"))
                             .toArray()[0]
                             .toObject()
                             .value(QStringLiteral("power_w"))
                             .toDouble();
        QVERIFY2(qAbs(w - 40.0) < 2.0, qPrintable(QString::number(w)));
        const QJsonObject nvml = meters[2].toObject();
        QVERIFY(nvml.value(QStringLiteral("readable")).toBool());
        const QJsonObject gpu = nvml.value(QStringLiteral("domains")).toArray()[0].toObject();
        QCOMPARE(gpu.value(QStringLiteral("name")).toString(), QStringLiteral("gpu-0"));
        QCOMPARE(gpu.value(QStringLiteral("method")).toString(),
                 QStringLiteral("power-integration"));
        QVERIFY(qAbs(gpu.value(QStringLiteral("power_w")).toDouble() - 120.0) < 1.0);
        QCOMPARE(meters[3].toObject().value(QStringLiteral("kind")).toString(),
                 QStringLiteral("estimate"));
    }

    void metersWithNoTreeShowsOnlyTheEstimate()
    {
        const Result r = cli(
            {QStringLiteral("meters"), QStringLiteral("--window"), QStringLiteral("0.2")}, env());
        QCOMPARE(r.code, 0);
        QVERIFY2(r.out.contains(QStringLiteral("rapl-powercap  measured  not present")),
                 qPrintable(r.out));
        QVERIFY(r.out.contains(QStringLiteral("no powercap tree at")));
        QVERIFY(r.out.contains(QStringLiteral("estimate       estimate  readable")));
        QVERIFY(r.out.contains(QStringLiteral("cpu-time-x-tdp")));
        QVERIFY(r.out.contains(QStringLiteral(" W (estimate)")));
    }

    void measureDurationJsonEstimateOnly()
    {
        const Result r = cli({QStringLiteral("measure"), QStringLiteral("--duration"),
                              QStringLiteral("1"), QStringLiteral("--json")},
                             env());
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const QJsonObject o = parse(r);
        QVERIFY(o.value(QStringLiteral("estimate_only")).toBool());
        const double d = o.value(QStringLiteral("duration_s")).toDouble();
        QVERIFY2(d >= 1.0 && d < 1.5, qPrintable(QString::number(d)));
        const QJsonArray domains = o.value(QStringLiteral("domains")).toArray();
        QCOMPARE(domains.size(), 1);
        const QJsonObject cpu = domains[0].toObject();
        QCOMPARE(cpu.value(QStringLiteral("kind")).toString(), QStringLiteral("estimate"));
        QCOMPARE(cpu.value(QStringLiteral("domain")).toString(), QStringLiteral("cpu"));
        QVERIFY(cpu.value(QStringLiteral("energy_j")).isDouble());
        // never more than TDP x time (1 % for the gap between the meter's and the sample's clocks)
        QVERIFY(cpu.value(QStringLiteral("energy_j")).toDouble() <= 50.0 * d * 1.01);
        QCOMPARE(o.value(QStringLiteral("meters"))
                     .toArray()[0]
                     .toObject()
                     .value(QStringLiteral("kind"))
                     .toString(),
                 QStringLiteral("estimate"));
        QCOMPARE(r.err.count(QStringLiteral("no hardware energy counter readable: ")), 1);
        QVERIFY(r.err.contains(QStringLiteral("using the CPU-time estimate")));
    }

    void measureCommandLifetime()
    {
        const Result r = cli({QStringLiteral("measure"), QStringLiteral("--"),
                              QStringLiteral("/bin/sleep"), QStringLiteral("0.3")},
                             env());
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains(QStringLiteral("Command: /bin/sleep 0.3 (exit code 0)")),
                 qPrintable(r.out));
        const QRegularExpressionMatch m =
            QRegularExpression(QStringLiteral("Measured ([0-9.]+) s")).match(r.out);
        QVERIFY(m.hasMatch());
        QVERIFY2(m.captured(1).toDouble() >= 0.3 && m.captured(1).toDouble() < 1.0,
                 qPrintable(m.captured(1)));
        QVERIFY(r.out.contains(QStringLiteral("estimate  cpu-time-x-tdp")));
        QVERIFY(r.out.contains(QStringLiteral("J (estimate)")));
        QVERIFY(r.out.contains(QStringLiteral("every figure above is an estimate")));
    }

    void measurePassesTheExitCodeOnAndKeepsJsonClean()
    {
        const Result r = cli({QStringLiteral("measure"), QStringLiteral("--json"),
                              QStringLiteral("--"), QStringLiteral("/bin/sh"), QStringLiteral("-c"),
                              QStringLiteral("echo child-output; exit 3")},
                             env());
        QCOMPARE(r.code, 3);
        const QJsonObject o = parse(r);
        QCOMPARE(o.value(QStringLiteral("exit_code")).toInt(), 3);
        QCOMPARE(o.value(QStringLiteral("command")).toArray().size(), 3);
        QVERIFY(r.err.contains(QStringLiteral("child-output")));
        const Result missing = cli({QStringLiteral("measure"), QStringLiteral("--"),
                                    QStringLiteral("/nonexistent/program")},
                                   env());
        QCOMPARE(missing.code, 127);
        QVERIFY(missing.err.contains(QStringLiteral("cannot start '/nonexistent/program'")));
    }

    void measureOnAFakeTreeAt40W()
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        QVERIFY(
            tree.addZone(QStringLiteral("intel-rapl:0"), QStringLiteral("package-0"), 0, 20000000));
        QVERIFY(tree.addZone(QStringLiteral("intel-rapl:0:0"), QStringLiteral("core"), 0));
        PowerWriter writer(tree, QStringLiteral("intel-rapl:0"), 40.0, 20000000);
        writer.start();
        const Result r =
            cli({QStringLiteral("measure"), QStringLiteral("--duration"), QStringLiteral("1"),
                 QStringLiteral("--json"), QStringLiteral("--rate"), QStringLiteral("100")},
                env(tree.root()));
        writer.stop();
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(!r.err.contains(QStringLiteral("no hardware energy counter")), qPrintable(r.err));
        const QJsonObject o = parse(r);
        QVERIFY(!o.value(QStringLiteral("estimate_only")).toBool());
        QCOMPARE(o.value(QStringLiteral("rate_hz")).toDouble(), 100.0);
        const QJsonObject pkg = domain(o, QStringLiteral("package-0"));
        QCOMPARE(pkg.value(QStringLiteral("kind")).toString(), QStringLiteral("measured"));
        const double watts = pkg.value(QStringLiteral("average_power_w")).toDouble();
        QVERIFY2(qAbs(watts - 40.0) < 1.0, qPrintable(QString::number(watts)));
        QVERIFY(domain(o, QStringLiteral("cpu")).isEmpty()); // no estimate mixed in
    }

    void explicitMeters()
    {
        QTemporaryDir dir;
        FakePowercapTree tree(dir.path());
        tree.buildAmdTwoPackages();
        const Result both =
            cli({QStringLiteral("measure"), QStringLiteral("--duration"), QStringLiteral("0.3"),
                 QStringLiteral("--meters"), QStringLiteral("rapl,estimate")},
                env(tree.root()));
        QVERIFY2(both.code == 0, qPrintable(both.err));
        QVERIFY(both.out.contains(QStringLiteral("rapl-powercap  package-1/core")));
        QVERIFY(both.out.contains(QStringLiteral("estimate       cpu")));
        QVERIFY(!both.err.contains(QStringLiteral("no hardware energy counter")));

        const Result nvml =
            cli({QStringLiteral("measure"), QStringLiteral("--duration"), QStringLiteral("0.1"),
                 QStringLiteral("--meters"), QStringLiteral("nvml")},
                env(tree.root()));
        QCOMPARE(nvml.code, 1);
        QVERIFY2(nvml.err.contains(QStringLiteral(
                     "meter 'nvml' cannot be used: nvml: not present: cannot load")) &&
                     nvml.err.contains(QStringLiteral("JOULEBENCH_NVML_LIBRARY")),
                 qPrintable(nvml.err));
    }

    void usageErrors()
    {
        QCOMPARE(cli({QStringLiteral("measure")}, env()).code, 2);
        QCOMPARE(cli({QStringLiteral("measure"), QStringLiteral("--duration"), QStringLiteral("1"),
                      QStringLiteral("--"), QStringLiteral("/bin/true")},
                     env())
                     .code,
                 2);
        const Result rate =
            cli({QStringLiteral("measure"), QStringLiteral("--duration"), QStringLiteral("1"),
                 QStringLiteral("--rate"), QStringLiteral("5000")},
                env());
        QCOMPARE(rate.code, 2);
        QVERIFY(rate.err.contains(QStringLiteral("outside 1..1000 Hz")));
    }
};

QTEST_GUILESS_MAIN(TestCliMeasure)
#include "tst_cli_measure.moc"
