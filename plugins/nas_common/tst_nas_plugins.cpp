// SPDX-License-Identifier: GPL-3.0-or-later
// The runner's TechniqueContext::measureEnergy on a fake RAPL package driven at known powers
// (gross and net joules of a workload, no stored phase, errors passed on), and nas.random and
// nas.evolution loaded as plugins and run through the runner on a Fashion-MNIST subset: the
// sub-phases, the metrics, the logged candidates with their measured energy and Pareto flags.
#include "plugin_test_support.h"
#include "tst_runner_fake_power.h" // tests/engine

#include "database/store.h"
#include "engine/runner.h"
#include "engine/technique.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

#include <torch/torch.h>

#include <cmath>

using namespace jb;
using namespace Qt::StringLiterals;

namespace {

bool haveFashionMnist()
{
    return QFileInfo::exists(u"/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"_s);
}

std::optional<Plan> planFrom(const char *text)
{
    QStringList errors;
    auto plan = Plan::fromJson(QJsonDocument::fromJson(text).object(), &errors);
    if (!plan)
        qWarning("%s", qPrintable(errors.join(u'\n')));
    return plan;
}

/// What MeasuringTechnique measured (outlives the technique, which the runner destroys).
struct Measured
{
    std::optional<WorkloadEnergy> energy;
    std::optional<WorkloadEnergy> failed;
    QString failError;
};

/// Measures a workload that raises the fake package to 60 W for 0.5 s, and one that fails.
class MeasuringTechnique final : public Technique
{
public:
    MeasuringTechnique(test::FakePackage *package, Measured *out) : m_package(package), m_out(out)
    {
    }
    bool configure(const QJsonObject &, QString *) override { return true; }
    bool apply(TechniqueContext &ctx, QString *error) override
    {
        if (!ctx.measureEnergy) {
            *error = u"no measureEnergy in the context"_s;
            return false;
        }
        ctx.beginPhase(u"work"_s);
        m_out->energy = ctx.measureEnergy(
            [this](QString *) {
                m_package->setPower(60.0);
                QThread::msleep(500);
                m_package->setPower(20.0);
                return true;
            },
            error);
        m_out->failed = ctx.measureEnergy(
            [](QString *err) {
                *err = u"the workload broke"_s;
                return false;
            },
            &m_out->failError);
        return m_out->energy.has_value();
    }

private:
    test::FakePackage *m_package;
    Measured *m_out;
};

} // namespace

class TestNasPlugins : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    RunnerOptions options(const QString &db, const QString &powercapRoot)
    {
        RunnerOptions o;
        o.databasePath = m_dir.filePath(db);
        o.discovery = DiscoveryOptions::fromEnvironment();
        o.discovery.powercapRoot = powercapRoot;
        o.discovery.perfEventRoot = m_dir.filePath(u"no-perf"_s);
        o.discovery.nvmlLibrary = m_dir.filePath(u"no-nvml.so"_s);
        return o;
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (!haveFashionMnist())
            QSKIP("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist "
                  "(apt install dataset-fashion-mnist)");
        QVERIFY(m_dir.isValid());
    }

    // 20 W idle, 60 W during the 0.5 s workload: gross = 60 W x t, net = 40 W x t (2 % plus
    // 10 ms of power for a counter that is a little stale at a read), measured, one domain;
    // the workload's energy stays inside the technique's own phase.
    void measureEnergyBracketsTheWorkload()
    {
        test::FakePackage pkg(20.0);
        const auto plan = planFrom(R"({
            "version": 1, "name": "measure-energy",
            "dataset": {"name": "fashion-mnist", "trainLimit": 256, "testLimit": 64},
            "model": {"zoo": "mlp"}, "training": {"epochs": 1, "batchSize": 64}, "repetitions": 1,
            "inference": {"batchSizes": [16], "batches": 2, "warmupBatches": 1},
            "measurement": {"idleBefore": 0.3},
            "variants": [{"label": "measure", "chain": [{"plugin": "test.measure"}]}]
        })");
        QVERIFY(plan);
        RunnerOptions o = options(u"measure.sqlite"_s, pkg.root());
        Measured measured;
        o.techniqueFactory = [&](const PlanStep &, QString *) -> std::unique_ptr<Technique> {
            return std::make_unique<MeasuringTechnique>(&pkg, &measured);
        };
        ExperimentRunner runner(*plan, o);
        QString error;
        const auto outcome = runner.run(&error);
        QVERIFY2(outcome, qPrintable(error));
        QVERIFY2(outcome->failures.isEmpty(), qPrintable(outcome->failures.value(0)));
        QVERIFY(measured.energy);
        const WorkloadEnergy &e = *measured.energy;
        QVERIFY(!e.estimate);
        QVERIFY(e.seconds >= 0.5 && e.seconds < 2.0);
        const double slack = 0.02 * 60.0 * e.seconds + 60.0 * 0.010;
        QVERIFY2(std::fabs(e.joules - 60.0 * e.seconds) <= slack,
                 qPrintable(u"gross %1 J over %2 s, expected 60 W"_s.arg(e.joules).arg(e.seconds)));
        QVERIFY(e.netJoules);
        QVERIFY2(std::fabs(*e.netJoules - 40.0 * e.seconds) <= slack + 0.02 * 20.0 * e.seconds,
                 qPrintable(u"net %1 J over %2 s, expected 40 W"_s.arg(*e.netJoules).arg(
                     e.seconds)));
        QCOMPARE(e.domains.size(), 1);
        QCOMPARE(e.domains.first().domain, u"package-0"_s);
        QVERIFY(e.domains.first().summed);
        QVERIFY(!measured.failed);
        QCOMPARE(measured.failError, u"the workload broke"_s);

        db::Store store;
        QVERIFY2(store.open(o.databasePath, db::Store::OpenMode::ReadOnly, &error),
                 qPrintable(error));
        const auto runs = *store.listRuns(store.lastExperiment(&error)->id, &error);
        QStringList prepare;
        const db::RunRecord &run = runs.last(); // after the baseline the plan adds
        QCOMPARE(run.key.variant, u"measure"_s);
        const QList<db::PhaseRecord> stored = *store.phases(run.id, nullptr);
        for (const db::PhaseRecord &p : stored)
            if (p.name.startsWith(u"prepare"_s))
                prepare.append(p.name);
        QCOMPARE(prepare, (QStringList{u"prepare"_s, u"prepare:test.measure"_s,
                                       u"prepare:work"_s}));
    }

    // Both plugins through the registry and the runner, on the fake package: the search is
    // "prepare:search", the final training "prepare:final_train"; every candidate is logged
    // with its spec, validation accuracy, measured energy per inference and Pareto flag; the
    // run's model is the chosen candidate.
    void pluginsRunThroughTheRunner()
    {
        const QString plugins = m_dir.filePath(u"plugins"_s);
        QVERIFY(QDir().mkpath(plugins));
        QVERIFY(!test::copyPlugin(QStringLiteral(JB_NAS_RANDOM_FILE), plugins).isEmpty());
        QVERIFY(!test::copyPlugin(QStringLiteral(JB_NAS_EVOLUTION_FILE), plugins).isEmpty());
        const auto registry = test::scannedRegistry({plugins});
        QVERIFY(registry->plugin(u"nas.random"_s));
        QVERIFY(registry->plugin(u"nas.evolution"_s));

        test::FakePackage pkg(20.0);
        const auto plan = planFrom(R"({
            "version": 1, "name": "nas-tiny",
            "dataset": {"name": "fashion-mnist", "trainLimit": 512, "testLimit": 128,
                        "validationFraction": 0.2},
            "model": {"zoo": "mlp"}, "training": {"epochs": 1, "batchSize": 64}, "repetitions": 1,
            "inference": {"batchSizes": [16], "batches": 3, "warmupBatches": 1},
            "measurement": {"idleBefore": 0.2},
            "variants": [
                {"label": "random", "chain": [{"plugin": "nas.random", "params": {
                    "candidates": 3, "train_subset": 128, "min_depth": 1, "max_depth": 2,
                    "widths": "4,8", "kernels": "3", "energy_batch_size": 16,
                    "energy_batches": 3, "final_epochs": 1}}]},
                {"label": "evolution", "chain": [{"plugin": "nas.evolution", "params": {
                    "candidates": 4, "population": 2, "sample_size": 2, "train_subset": 128,
                    "min_depth": 1, "max_depth": 2, "widths": "4,8", "kernels": "3",
                    "energy_batch_size": 16, "energy_batches": 3,
                    "objective": "accuracy_under_budget", "budget_metric": "macs",
                    "budget": 200000}}]}
            ]
        })");
        QVERIFY(plan);
        RunnerOptions o = options(u"nas.sqlite"_s, pkg.root());
        o.techniqueFactory = [&](const PlanStep &step, QString *error) {
            return registry->create(step.plugin, step.params, error);
        };
        ExperimentRunner runner(*plan, o);
        QString error;
        const auto outcome = runner.run(&error);
        QVERIFY2(outcome, qPrintable(error));
        QVERIFY2(outcome->failures.isEmpty(), qPrintable(outcome->failures.value(0)));
        QCOMPARE(outcome->completed, 3); // with the baseline the plan adds

        db::Store store;
        QVERIFY2(store.open(o.databasePath, db::Store::OpenMode::ReadOnly, &error),
                 qPrintable(error));
        const auto runs = *store.listRuns(store.lastExperiment(&error)->id, &error);
        QCOMPARE(runs.size(), 3);
        const int expected[] = {3, 4};
        for (int r = 0; r < 2; ++r) {
            QCOMPARE(runs.at(r + 1).key.variant, r == 0 ? u"random"_s : u"evolution"_s);
            const qint64 run = runs.at(r + 1).id;
            QStringList phases;
            const QList<db::PhaseRecord> stored = *store.phases(run, nullptr);
            for (const db::PhaseRecord &p : stored)
                phases.append(p.name);
            QVERIFY2(phases.contains(u"prepare:search"_s), qPrintable(phases.join(u", "_s)));
            QVERIFY(phases.contains(u"prepare:final_train"_s));
            QMap<QString, double> metrics;
            const QList<db::MetricRecord> storedMetrics = *store.metrics(run, nullptr);
            for (const db::MetricRecord &m : storedMetrics)
                metrics.insert(m.name, m.value);
            QCOMPARE(metrics.value(u"nas_candidates"_s), double(expected[r]));
            QVERIFY(metrics.value(u"nas_front_size"_s) >= 1);
            QVERIFY(metrics.value(u"nas_chosen_energy_per_inference_j"_s) > 0); // measured
            QCOMPARE(metrics.value(u"params"_s), metrics.value(u"nas_chosen_params"_s));
            QJsonObject done;
            const QList<db::TechniqueLogRecord> logs = *store.techniqueLogs(run, nullptr);
            for (const db::TechniqueLogRecord &l : logs)
                if (l.message.startsWith(u"search done"_s))
                    done = QJsonDocument::fromJson(l.json).object();
            QCOMPARE(done.value(u"energy_kind"_s).toString(), u"measured"_s);
            QCOMPARE(done.value(u"cost_axis"_s).toString(), u"energy_per_inference_j"_s);
            const QJsonArray candidates = done.value(u"candidates"_s).toArray();
            QCOMPARE(candidates.size(), expected[r]);
            for (const QJsonValue &v : candidates) {
                const QJsonObject c = v.toObject();
                QVERIFY(c.value(u"energy_per_inference_j"_s).toDouble() > 0);
                QCOMPARE(c.value(u"energy_kind"_s).toString(), u"measured"_s);
                QVERIFY(c.value(u"spec"_s).toObject().contains(u"layers"_s));
                QVERIFY(c.value(u"val_accuracy"_s).toDouble() >= 0);
                QVERIFY(c.contains(u"on_front"_s));
            }
        }
    }
};

QTEST_GUILESS_MAIN(TestNasPlugins)
#include "tst_nas_plugins.moc"
