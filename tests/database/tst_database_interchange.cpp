// SPDX-License-Identifier: GPL-3.0-or-later
// Interchange: the JSON dump round trip (export -> import into a fresh database -> export
// again is the same text), renumbered reused_from_run, rollback of a failed import; the
// CodeCarbon emissions.csv mapping both ways with its error messages; the environment mix
// that compare turns into mixed-hosts / mixed-environment.
#include "db_test_util.h"

#include "database/codecarbon_csv.h"
#include "database/environment_mix.h"
#include "database/experiment_json.h"
#include "database/sample_writer.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QUuid>
#include <QtTest>

#include <cmath>

using namespace jb::db;
using namespace Qt::StringLiterals;

namespace {

QByteArray env(const QString &host, const QString &cpuModel, const QString &captured)
{
    return QJsonDocument(
               QJsonObject{{u"host"_s, host},
                           {u"captured"_s, captured},
                           {u"kernel"_s, u"6.1.0"_s},
                           {u"os"_s, u"Debian GNU/Linux 12 (bookworm)"_s},
                           {u"memoryBytes"_s, 8.0 * 1024 * 1024 * 1024},
                           {u"cpu"_s, QJsonObject{{u"model"_s, cpuModel}, {u"logicalCpus"_s, 4}}},
                           {u"cpufreq"_s,
                            QJsonObject{{u"readable"_s, true},
                                        {u"governors"_s, QJsonArray{u"performance"_s}},
                                        {u"currentMHz"_s, QJsonArray{captured.size() * 100.0}}}},
                           {u"software"_s, QJsonObject{{u"joulebench"_s, u"0.1.0"_s}}}})
        .toJson(QJsonDocument::Compact);
}

/// One experiment with two finished runs: RAPL-like measured domains, a GPU, psys, samples,
/// phases, metrics (run 2 reuses run 1's training), an artifact and a technique log.
qint64 fillExperiment(Store &store)
{
    QString error;
    const auto exp = store.createExperiment(
        u"interchange"_s, R"({"version":1,"name":"interchange"})", u"hash-interchange"_s, &error);
    if (!exp)
        qFatal("%s", qPrintable(error));
    qint64 firstRun = 0;
    for (int rep = 0; rep < 2; ++rep) {
        RunKey key{u"baseline"_s, "[]", u"cpu:2"_s, rep, u"key-a"_s};
        const auto run = store.createRun(*exp, key, R"({"batch":16,"trainCache":{"reused":false}})",
                                         env(u"node-a"_s, u"EPYC"_s, u"t%1"_s.arg(rep)), &error);
        if (!run)
            qFatal("%s", qPrintable(error));
        if (rep == 0)
            firstRun = *run;
        auto writer = store.sampleWriter(*run, &error);
        const auto pkg =
            writer->addDomain({0, u"package-0"_s, ValueKind::Measured, u"rapl-powercap"_s}, &error);
        const auto dram = writer->addDomain(
            {0, u"package-0/dram"_s, ValueKind::Measured, u"rapl-powercap"_s}, &error);
        const auto gpu = writer->addDomain({0, u"gpu-0"_s, ValueKind::Measured, u"nvml"_s}, &error);
        const auto psys =
            writer->addDomain({0, u"psys"_s, ValueKind::Measured, u"rapl-powercap"_s}, &error);
        // A domain without samples: its run totals are null.
        writer->addDomain({0, u"package-1"_s, ValueKind::Measured, u"rapl-powercap"_s}, &error);
        for (int i = 0; i <= 200; ++i) {
            const double t = i * 0.01 + 1.0 / 3.0; // off the grid: exercises the residual codec
            writer->append(*pkg, t, i * 0.2 + 0.1 * rep);
            writer->append(*dram, t, i * 0.05);
            writer->append(*gpu, t, i * 0.5);
            writer->append(*psys, t, i * 0.9);
        }
        if (!writer->flush(&error))
            qFatal("%s", qPrintable(error));
        PhaseRecord idle{0, u"idle"_s, 0,
                         0, 0.5,       {{u"package-0"_s, 5, 0, ValueKind::Measured, 10}}};
        PhaseRecord train{0,
                          u"train"_s,
                          1,
                          0.5,
                          1.0,
                          {{u"package-0"_s, 36, 26, ValueKind::Measured, 36},
                           {u"package-0/dram"_s, 3.6, 1.8, ValueKind::Measured, 3.6},
                           {u"gpu-0"_s, 72, 60, ValueKind::Measured, 72},
                           {u"psys"_s, 200, 150, ValueKind::Measured, 200}}};
        PhaseRecord infer{0,
                          u"inference:b16"_s,
                          2,
                          1.5,
                          0.5,
                          {{u"package-0"_s, 18, 13, ValueKind::Measured, 36},
                           {u"package-0/dram"_s, 1.8, 0.9, ValueKind::Measured, 3.6}}};
        for (const PhaseRecord &p : {idle, train, infer})
            if (!store.addPhase(*run, p, &error))
                qFatal("%s", qPrintable(error));
        store.setMetric(*run, u"evaluate"_s, u"accuracy"_s, 0.8125 + rep * 0.01, QString(),
                        ValueKind::Computed, &error);
        if (rep == 1)
            store.setMetric(*run, u"train"_s, u"reused_from_run"_s, double(firstRun), QString(),
                            ValueKind::Computed, &error);
        store.addArtifact(*run, u"model"_s, u"/tmp/m.pt"_s, u"abc"_s, 123, &error);
        store.addTechniqueLog(*run, u"prune"_s, u"pruned 50 %"_s, R"({"sparsity":0.5})", &error);
        if (!store.finishRun(*run, RunStatus::Completed, {u"idle-drift"_s}, QString(), &error))
            qFatal("%s", qPrintable(error));
    }
    return *exp;
}

QByteArray jsonOf(const Store &store, qint64 experiment, bool samples)
{
    QString error;
    const auto dump = store.dumpExperiment(experiment, samples, &error);
    if (!dump)
        qFatal("%s", qPrintable(error));
    return QJsonDocument(experimentDumpToJson(*dump)).toJson(QJsonDocument::Indented);
}

QHash<QString, QString> csvRow(const QByteArray &csv, int row, QString *error)
{
    const auto t = codecarbon::parseCsv(csv, u"x.csv"_s, error);
    QHash<QString, QString> out;
    if (!t || row >= t->rows.size())
        return out;
    for (qsizetype i = 0; i < t->header.size(); ++i)
        out.insert(t->header.at(i), t->rows.at(row).at(i));
    return out;
}

// CodeCarbon 2.8 wrote these columns (no water, no utilisation).
const char *const CodeCarbon28 =
    "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,"
    "gpu_power,ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,country_name,"
    "country_iso_code,region,cloud_provider,cloud_region,os,python_version,codecarbon_version,"
    "cpu_count,cpu_model,gpu_count,gpu_model,longitude,latitude,ram_total_size,tracking_mode,"
    "on_cloud,pue\n"
    "2025-06-12T16:36:57,resnet,a4b09711-0000-4000-8000-000000000001,"
    "5b0fa12a-3dd7-45bb-9766-cc326314d9f1,120.5,0.0012,1e-05,42.5,0,3.0,0.0014,0,0.0001,0.0015,"
    "France,FRA,\"Île-de-France, Paris\",,,Linux-6.1.0-x86_64-with-glibc2.36,3.11.2,2.8.0,8,"
    "Intel(R) Xeon(R) Gold 6226R CPU @ 2.90GHz,0,,,,31.2,machine,N,1.0\n"
    "2025-06-12T17:00:00,resnet,a4b09711-0000-4000-8000-000000000002,"
    "5b0fa12a-3dd7-45bb-9766-cc326314d9f1,60,,,,,,0.0007,,0.00005,0.00075,France,FRA,,,,"
    "Linux,3.11.2,2.8.0,8,Xeon,0,,,,31.2,machine,N,1.0\n";

} // namespace

class TestDatabaseInterchange : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString path(const QString &name) const { return m_dir.filePath(name); }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void jsonRoundTripIsExact()
    {
        QString error;
        Store a;
        QVERIFY2(a.open(path(u"a.sqlite"_s), Store::OpenMode::ReadWrite, &error),
                 qPrintable(error));
        const qint64 exp = fillExperiment(a);
        for (const bool samples : {false, true}) {
            const QByteArray first = jsonOf(a, exp, samples);
            const QJsonObject o = QJsonDocument::fromJson(first).object();
            QCOMPARE(o.value(u"format"_s).toString(), u"joulebench-experiment"_s);
            const QJsonArray runs = o.value(u"runs"_s).toArray();
            QCOMPARE(runs.size(), 2);
            QCOMPARE(runs.at(0)
                         .toObject()
                         .value(u"environment"_s)
                         .toObject()
                         .value(u"host"_s)
                         .toString(),
                     u"node-a"_s);
            QCOMPARE(runs.at(0).toObject().contains(u"samples"_s), samples);
            // A NaN is written as null and read back as NaN.
            QVERIFY(first.contains("\"joules\": null"));

            const auto dump = experimentDumpFromJson(o, u"first.json"_s, &error);
            QVERIFY2(dump, qPrintable(error));
            Store b;
            const QString fresh = path(samples ? u"b-samples.sqlite"_s : u"b.sqlite"_s);
            QVERIFY2(b.open(fresh, Store::OpenMode::ReadWrite, &error), qPrintable(error));
            const auto counts = b.importExperiment(*dump, std::nullopt, &error);
            QVERIFY2(counts, qPrintable(error));
            QVERIFY(counts->experimentCreated);
            QCOMPARE(counts->runIds.size(), 2);
            QCOMPARE(counts->samples, samples ? 4 * 2 * 201 : 0);
            const QByteArray second = jsonOf(b, counts->experimentId, samples);
            QCOMPARE(second, first); // a fresh database gives the same ids: byte-identical
            if (samples) {
                const auto raw =
                    b.readRaw(counts->runIds.at(1), u"package-0"_s, -1e300, 1e300, &error);
                const auto orig = a.readRaw(2, u"package-0"_s, -1e300, 1e300, &error);
                QVERIFY(raw && orig);
                QVERIFY(*raw == *orig); // bit-exact
            }
        }
    }

    void importIntoUsedDatabaseRenumbers()
    {
        QString error;
        Store a;
        QVERIFY(a.open(path(u"a.sqlite"_s), Store::OpenMode::ReadWrite, &error));
        const auto dump = a.dumpExperiment(1, false, &error);
        QVERIFY2(dump, qPrintable(error));
        Store c;
        QVERIFY(c.open(path(u"c.sqlite"_s), Store::OpenMode::ReadWrite, &error));
        QVERIFY(c.importExperiment(*dump, std::nullopt, &error));
        const auto second = c.importExperiment(*dump, std::nullopt, &error);
        QVERIFY2(second, qPrintable(error));
        QCOMPARE(second->runIds, (QList<qint64>{3, 4}));
        const auto metrics = c.metrics(4, &error);
        QVERIFY(metrics);
        bool remapped = false;
        for (const MetricRecord &m : *metrics)
            if (m.name == u"reused_from_run"_s) {
                QCOMPARE(m.value, 3.0); // run 1 of the dump is run 3 here
                remapped = true;
            }
        QVERIFY(remapped);
        const auto run = c.run(4, &error);
        QVERIFY(run);
        QCOMPARE(run->status, RunStatus::Completed);
        QCOMPARE(run->flags, QStringList{u"idle-drift"_s});
        const auto orig = a.run(2, &error);
        QCOMPARE(run->started, orig->started);
        QCOMPARE(run->ended, orig->ended);
        QCOMPARE(run->owner.pid, orig->owner.pid);
        // Adding to an existing experiment keeps its record.
        const auto into = c.importExperiment(*dump, qint64(1), &error);
        QVERIFY2(into, qPrintable(error));
        QVERIFY(!into->experimentCreated);
        QCOMPARE(c.listRuns(1, &error)->size(), 4);
        QCOMPARE(c.listExperiments(&error)->size(), 2);
    }

    void failedImportLeavesNothing()
    {
        QString error;
        Store a;
        QVERIFY(a.open(path(u"a.sqlite"_s), Store::OpenMode::ReadWrite, &error));
        auto dump = a.dumpExperiment(1, false, &error);
        QVERIFY(dump);
        dump->runs[1].totals.append(
            {u"no-such-domain"_s, ValueKind::Measured, u"x"_s, 0, 1, 1, 1, 1});
        Store d;
        QVERIFY(d.open(path(u"d.sqlite"_s), Store::OpenMode::ReadWrite, &error));
        QVERIFY(!d.importExperiment(*dump, std::nullopt, &error));
        QVERIFY2(error.contains(u"no-such-domain"_s), qPrintable(error));
        QCOMPARE(d.listExperiments(&error)->size(), 0);
        jbtest::RawDb raw(path(u"d.sqlite"_s));
        QCOMPARE(raw.value(u"SELECT COUNT(*) FROM run"_s).toInt(), 0);
        QCOMPARE(raw.value(u"SELECT COUNT(*) FROM run_domain"_s).toInt(), 0);
    }

    void jsonErrorsNameThePath()
    {
        QString error;
        QVERIFY(
            !experimentDumpFromJson(QJsonObject{{u"format"_s, u"other"_s}}, u"f.json"_s, &error));
        QVERIFY2(error.contains(u"f.json: format"_s), qPrintable(error));
        Store a;
        QVERIFY(a.open(path(u"a.sqlite"_s), Store::OpenMode::ReadWrite, &error));
        QJsonObject o = QJsonDocument::fromJson(jsonOf(a, 1, false)).object();
        QJsonArray runs = o.value(u"runs"_s).toArray();
        QJsonObject run = runs.at(1).toObject();
        QJsonArray phases = run.value(u"phases"_s).toArray();
        QJsonObject phase = phases.at(1).toObject();
        QJsonArray energy = phase.value(u"energy"_s).toArray();
        QJsonObject e = energy.at(0).toObject();
        e.insert(u"netJ"_s, u"lots"_s);
        energy[0] = e;
        phase.insert(u"energy"_s, energy);
        phases[1] = phase;
        run.insert(u"phases"_s, phases);
        runs[1] = run;
        o.insert(u"runs"_s, runs);
        QVERIFY(!experimentDumpFromJson(o, u"f.json"_s, &error));
        QCOMPARE(error, u"f.json: runs[1].phases[1].energy[0].netJ: expected a number or null"_s);
        o.insert(u"formatVersion"_s, 99);
        QVERIFY(!experimentDumpFromJson(o, u"f.json"_s, &error));
        QVERIFY2(error.contains(u"version 99"_s), qPrintable(error));
    }

    void codecarbonExportMapsDomains()
    {
        QString error;
        Store a;
        QVERIFY(a.open(path(u"a.sqlite"_s), Store::OpenMode::ReadWrite, &error));
        const auto dump = a.dumpExperiment(1, false, &error);
        QVERIFY(dump);
        codecarbon::ExportOptions o;
        const auto csv = codecarbon::exportCsv(*dump, o, &error);
        QVERIFY2(csv, qPrintable(error));
        const QStringList header = QString::fromUtf8(csv->left(csv->indexOf('\n'))).split(u',');
        QCOMPARE(header.mid(0, codecarbon::columns().size()), codecarbon::columns());
        QCOMPARE(header.value(codecarbon::columns().size()), u"joulebench_energy_kind"_s);
        QCOMPARE(header.size(), codecarbon::columns().size() + codecarbon::extraColumns().size());
        QCOMPARE(csv->count('\n'), 3); // header + one row per run

        // Run 1: train (own) + inference; idle left out. Gross energy, kWh.
        QHash<QString, QString> r = csvRow(*csv, 0, &error);
        QCOMPARE(r.value(u"duration"_s).toDouble(), 1.5);
        QCOMPARE(r.value(u"cpu_energy"_s).toDouble(), (36 + 18) / 3.6e6);
        QCOMPARE(r.value(u"ram_energy"_s).toDouble(), (3.6 + 1.8) / 3.6e6);
        QCOMPARE(r.value(u"gpu_energy"_s).toDouble(), 72 / 3.6e6);
        QCOMPARE(r.value(u"energy_consumed"_s).toDouble(), (36 + 18 + 3.6 + 1.8 + 72) / 3.6e6);
        QCOMPARE(r.value(u"cpu_power"_s).toDouble(), 54 / 1.5);
        QCOMPARE(r.value(u"emissions"_s), QString()); // no carbon intensity given
        QCOMPARE(r.value(u"emissions_rate"_s), QString());
        QCOMPARE(r.value(u"cpu_model"_s), u"EPYC"_s);
        QCOMPARE(r.value(u"cpu_count"_s), u"4"_s);
        QCOMPARE(r.value(u"ram_total_size"_s), u"8"_s);
        QCOMPARE(r.value(u"gpu_count"_s), u"1"_s);
        QCOMPARE(r.value(u"country_name"_s), QString());
        QCOMPARE(r.value(u"joulebench_energy_kind"_s), u"measured"_s);
        QCOMPARE(r.value(u"joulebench_phases"_s), u"train+inference:b16"_s);
        QVERIFY(QUuid::fromString(r.value(u"run_id"_s)).version() == QUuid::Sha1);
        // Run 2 reused run 1's training: only its inference counts.
        r = csvRow(*csv, 1, &error);
        QCOMPARE(r.value(u"joulebench_phases"_s), u"inference:b16"_s);
        QCOMPARE(r.value(u"duration"_s).toDouble(), 0.5);

        o.carbonIntensityGPerKWh = 400;
        o.countryIsoCode = u"DEU"_s;
        o.netEnergy = true;
        o.perPhase = true;
        const auto net = codecarbon::exportCsv(*dump, o, &error);
        QVERIFY(net);
        QCOMPARE(net->count('\n'), 1 + 3); // run 1: train, inference; run 2: inference
        r = csvRow(*net, 0, &error);
        const double kwh = (26 + 1.8 + 60) / 3.6e6;
        QCOMPARE(r.value(u"energy_consumed"_s).toDouble(), kwh);
        QCOMPARE(r.value(u"emissions"_s).toDouble(), kwh * 400 / 1000);
        QCOMPARE(r.value(u"emissions_rate"_s).toDouble(), kwh * 400 / 1000 / 1.0);
        QCOMPARE(r.value(u"country_iso_code"_s), u"DEU"_s);
        QCOMPARE(r.value(u"joulebench_energy_basis"_s), u"net"_s);
        o.carbonIntensityGPerKWh = -1;
        QVERIFY(!codecarbon::exportCsv(*dump, o, &error));
        QVERIFY2(error.contains(u"carbon intensity"_s), qPrintable(error));
    }

    void codecarbonNeverSumsEstimatesWithMeasurements()
    {
        ExperimentDump dump;
        dump.experiment = {1, u"e"_s, "{}", u"h"_s, u"2026-01-01T00:00:00.000Z"_s};
        RunDump d;
        d.run.id = 1;
        d.run.status = RunStatus::Completed;
        d.run.ended = u"2026-01-01T00:01:00.000Z"_s;
        d.phases.append({0,
                         u"inference:b1"_s,
                         0,
                         0,
                         2.0,
                         {{u"package-0"_s, 10, 8, ValueKind::Measured, 5},
                          {u"estimate:cpu"_s, 99, 90, ValueKind::Estimate, 49.5},
                          {u"dram"_s, 4, 3, ValueKind::Estimate, 2}}});
        dump.runs.append(d);
        QString error;
        const auto csv = codecarbon::exportCsv(dump, {}, &error);
        QVERIFY2(csv, qPrintable(error));
        const QHash<QString, QString> r = csvRow(*csv, 0, &error);
        QCOMPARE(r.value(u"cpu_energy"_s).toDouble(), 10 / 3.6e6); // the estimate is ignored
        QCOMPARE(r.value(u"ram_energy"_s).toDouble(), 4 / 3.6e6);
        QCOMPARE(r.value(u"energy_consumed"_s).toDouble(), 14 / 3.6e6);
        QCOMPARE(r.value(u"joulebench_energy_kind"_s), u"mixed"_s);
        QCOMPARE(r.value(u"timestamp"_s), u"2026-01-01T00:01:00"_s);
    }

    void codecarbonImportAndRoundTrip()
    {
        QString error;
        codecarbon::ImportOptions opt;
        opt.experimentName = u"old numbers"_s;
        const auto dump = codecarbon::importCsv(CodeCarbon28, u"emissions.csv"_s, opt, &error);
        QVERIFY2(dump, qPrintable(error));
        QCOMPARE(dump->runs.size(), 2);
        const RunDump &r0 = dump->runs.at(0);
        QCOMPARE(r0.run.key.variant, u"resnet"_s);
        QCOMPARE(r0.run.key.backend, u"codecarbon"_s);
        QCOMPARE(dump->runs.at(1).run.key.repetition, 1);
        QCOMPARE(dump->runs.at(1).run.key.configKey, r0.run.key.configKey);
        QVERIFY(r0.run.flags.contains(u"estimate"_s));
        QVERIFY(r0.run.flags.contains(u"imported"_s));
        for (const RunDomain &d : r0.domains)
            QCOMPARE(d.kind, ValueKind::Estimate);
        QCOMPARE(r0.phases.size(), 1);
        QCOMPARE(r0.phases.at(0).name, u"train"_s);
        QCOMPARE(r0.run.ended, u"2025-06-12T16:36:57.000Z"_s);
        QCOMPARE(r0.run.started, u"2025-06-12T16:34:56.500Z"_s);
        // Row 2 has no gpu_energy: no gpu domain.
        QCOMPARE(dump->runs.at(1).domains.size(), 3);

        Store s;
        QVERIFY(s.open(path(u"cc.sqlite"_s), Store::OpenMode::ReadWrite, &error));
        const auto counts = s.importExperiment(*dump, std::nullopt, &error);
        QVERIFY2(counts, qPrintable(error));
        const auto back = s.dumpExperiment(counts->experimentId, false, &error);
        QVERIFY(back);
        const auto csv = codecarbon::exportCsv(*back, {}, &error);
        QVERIFY(csv);
        QString e2;
        const auto in = codecarbon::parseCsv(CodeCarbon28, u"in"_s, &e2);
        for (int row = 0; row < 2; ++row) {
            const QHash<QString, QString> out = csvRow(*csv, row, &error);
            for (const QString &c :
                 {u"timestamp"_s, u"project_name"_s, u"run_id"_s, u"experiment_id"_s,
                  u"country_name"_s, u"region"_s, u"os"_s, u"codecarbon_version"_s, u"cpu_model"_s,
                  u"tracking_mode"_s, u"pue"_s})
                QCOMPARE(out.value(c), in->rows.at(row).at(in->header.indexOf(c)));
            for (const QString &c : {u"duration"_s, u"cpu_energy"_s, u"gpu_energy"_s,
                                     u"ram_energy"_s, u"energy_consumed"_s}) {
                const QString want = in->rows.at(row).at(in->header.indexOf(c));
                if (want.isEmpty())
                    QCOMPARE(out.value(c), QString());
                else
                    QVERIFY2(qFuzzyCompare(out.value(c).toDouble(), want.toDouble()),
                             qPrintable(c + u": "_s + out.value(c) + u" vs "_s + want));
            }
            QCOMPARE(out.value(u"emissions"_s), QString()); // only with --carbon-intensity
            QCOMPARE(out.value(u"joulebench_energy_kind"_s), u"estimate"_s);
        }
    }

    void codecarbonErrorsNameLineAndColumn()
    {
        QString error;
        const codecarbon::ImportOptions opt;
        QVERIFY(!codecarbon::importCsv("timestamp,duration\n2025-01-01T00:00:00,3\n", u"e.csv"_s,
                                       opt, &error));
        QVERIFY2(error.contains(u"e.csv, line 1: column 'energy_consumed' is missing"_s),
                 qPrintable(error));
        QVERIFY(!codecarbon::importCsv("timestamp,duration,energy_consumed\n"
                                       "2025-01-01T00:00:00,3,0.1\n"
                                       "2025-01-01T00:00:00,abc,0.1\n"
                                       "yesterday,3,-1\n",
                                       u"e.csv"_s, opt, &error));
        QVERIFY2(error.contains(u"e.csv, line 3, column 'duration': 'abc' is not a "
                                "non-negative number"_s),
                 qPrintable(error));
        QVERIFY2(error.contains(u"e.csv, line 4, column 'timestamp': 'yesterday'"_s),
                 qPrintable(error));
        QVERIFY2(error.contains(u"e.csv, line 4, column 'energy_consumed': '-1'"_s),
                 qPrintable(error));
        QVERIFY(error.endsWith(u"nothing was imported"_s));
        QVERIFY(!codecarbon::importCsv("timestamp,duration,energy_consumed\n1,2\n", u"e.csv"_s, opt,
                                       &error));
        QCOMPARE(error, u"e.csv, line 2: 2 field(s), but the header has 3 columns"_s);
        QVERIFY(!codecarbon::importCsv("timestamp,duration,duration\n", u"e.csv"_s, opt, &error));
        QVERIFY2(error.contains(u"duplicate 'duration'"_s), qPrintable(error));
        QVERIFY(!codecarbon::importCsv("a,\"b\n", u"e.csv"_s, opt, &error));
        QVERIFY2(error.contains(u"not closed"_s), qPrintable(error));
        // Quoted fields with commas, quotes and newlines; CRLF line ends.
        const auto t =
            codecarbon::parseCsv("a,b\r\n\"x, \"\"y\"\"\",\"l1\nl2\"\r\n", u"q"_s, &error);
        QVERIFY2(t, qPrintable(error));
        QCOMPARE(t->rows.at(0), (QStringList{u"x, \"y\""_s, u"l1\nl2"_s}));
    }

    void environmentMixFlagsHostsAndSoftware()
    {
        const QByteArray a1 = env(u"node-a"_s, u"EPYC"_s, u"t1"_s);
        const QByteArray a2 = env(u"node-a"_s, u"EPYC"_s, u"much later"_s);
        const QByteArray b = env(u"node-b"_s, u"EPYC"_s, u"t1"_s);
        const QByteArray c = env(u"node-a"_s, u"Xeon"_s, u"t1"_s);
        // Capture time and current frequencies are not part of the identity.
        QCOMPARE(environmentIdentity(a1).fingerprint, environmentIdentity(a2).fingerprint);
        EnvironmentMix m = environmentMix({a1, a2});
        QVERIFY(m.flags().isEmpty());
        QVERIFY(m.describe().isEmpty());
        m = environmentMix({a1, b});
        QCOMPARE(m.flags(), QStringList{u"mixed-hosts"_s});
        QCOMPARE(m.hosts, (QStringList{u"node-a"_s, u"node-b"_s}));
        QVERIFY(m.differingKeys.isEmpty());
        m = environmentMix({a1, c});
        QCOMPARE(m.flags(), QStringList{u"mixed-environment"_s});
        QCOMPARE(m.differingKeys, QStringList{u"cpu.model"_s});
        QCOMPARE(m.describe(), u"differs: cpu.model"_s);
        m = environmentMix({a1, b, c, "{\"source\":\"codecarbon\",\"host\":\"\"}"});
        QCOMPARE(m.flags(), (QStringList{u"mixed-hosts"_s, u"mixed-environment"_s}));
        QVERIFY2(m.describe().startsWith(u"hosts unknown, node-a, node-b"_s),
                 qPrintable(m.describe()));
    }
};

QTEST_GUILESS_MAIN(TestDatabaseInterchange)
#include "tst_database_interchange.moc"
