// SPDX-License-Identifier: GPL-3.0-or-later
// Whole experiments on a tiny Fashion-MNIST subset, measured on a fake RAPL package whose
// power the test knows: stored phase energies against power x duration, net energy against
// the power above idle, the estimate meter's labels, the JSONL stream, cancellation, failed
// runs that do not stop the experiment, technique sub-phases, the baseline cache and resume.
#include "engine/run_events.h"
#include "engine/runner.h"
#include "engine/technique.h"
#include "database/store.h"
#include "tst_runner_fake_power.h"

#include <torch/torch.h>

#include <QBuffer>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <functional>
#include <mutex>

using namespace Qt::StringLiterals;
using namespace jb;

namespace {

const char *kTinyPlan = R"({
    "version": 1, "name": "tiny",
    "dataset": {"name": "fashion-mnist", "trainLimit": 512, "testLimit": 256},
    "model": {"zoo": "mlp"},
    "training": {"epochs": 1, "batchSize": 64},
    "repetitions": 2,
    "inference": {"batchSizes": [1, 16], "batches": 10, "warmupBatches": 2},
    "measurement": {"idleBefore": 0.3}
})";

bool haveFashionMnist()
{
    return QFileInfo::exists(u"/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"_s);
}

// The tiny plan with top-level keys replaced.
Plan tinyPlan(const QJsonObject &changes = {})
{
    QJsonObject o = QJsonDocument::fromJson(kTinyPlan).object();
    for (auto it = changes.begin(); it != changes.end(); ++it) {
        if (it.value().isObject() && o.value(it.key()).isObject()) {
            QJsonObject inner = o.value(it.key()).toObject();
            const QJsonObject c = it.value().toObject();
            for (auto j = c.begin(); j != c.end(); ++j)
                inner.insert(j.key(), j.value());
            o.insert(it.key(), inner);
        } else {
            o.insert(it.key(), it.value());
        }
    }
    QStringList errors;
    std::optional<Plan> p = Plan::fromJson(o, &errors);
    if (!p)
        qFatal("test plan invalid: %s", qPrintable(errors.join(u'\n')));
    return *p;
}

/// Collects events; calls `onEvent` synchronously (on the thread that emits).
class RecordingSink final : public RunEventSink
{
public:
    std::function<void(const RunEvent &)> onEvent;
    void event(const RunEvent &e) override
    {
        {
            std::lock_guard lock(m_mutex);
            m_events.append(e);
        }
        if (onEvent)
            onEvent(e);
    }
    QList<RunEvent> events() const
    {
        std::lock_guard lock(m_mutex);
        return m_events;
    }

private:
    mutable std::mutex m_mutex;
    QList<RunEvent> m_events;
};

/// A technique for the tests: spends some work in two sub-phases, zeroes half of the first
/// parameter, records a metric and a log line. "test.fail" fails in apply().
class TestTechnique final : public Technique
{
public:
    explicit TestTechnique(bool fail) : m_fail(fail) {}
    bool configure(const QJsonObject &, QString *) override { return true; }
    bool apply(TechniqueContext &ctx, QString *error) override
    {
        if (m_fail) {
            *error = u"boom"_s;
            return false;
        }
        torch::NoGradGuard noGrad;
        for (int i = 0; i < 20; ++i)
            ctx.model->forward(ctx.data->validation.inputs.slice(0, 0, 64));
        ctx.beginPhase(u"score"_s);
        for (int i = 0; i < 20; ++i)
            ctx.model->forward(ctx.data->validation.inputs.slice(0, 0, 64));
        torch::Tensor w = ctx.model->parameters().front();
        w.view(-1).slice(0, 0, w.numel() / 2).zero_();
        ctx.metric(u"sparsity_first_layer"_s, 0.5, u"ratio"_s);
        ctx.log(u"zeroed half of the first parameter"_s, QJsonObject{{u"tensor"_s, 0}});
        return true;
    }

private:
    bool m_fail;
};

struct Db
{
    db::Store store;
    QList<db::RunRecord> runs;
    explicit Db(const QString &path, qint64 experiment = 0)
    {
        QString error;
        if (!store.open(path, db::Store::OpenMode::ReadOnly, &error))
            qFatal("%s", qPrintable(error));
        if (experiment == 0)
            experiment = store.lastExperiment(&error)->id;
        runs = *store.listRuns(experiment, &error);
    }
    QList<db::PhaseRecord> phases(qint64 run) { return *store.phases(run, nullptr); }
    QList<db::MetricRecord> metrics(qint64 run) { return *store.metrics(run, nullptr); }
    std::optional<double> metric(qint64 run, const QString &phase, const QString &name)
    {
        for (const db::MetricRecord &m : metrics(run))
            if (m.phase == phase && m.name == name)
                return m.value;
        return std::nullopt;
    }
};

const db::PhaseRecord *named(const QList<db::PhaseRecord> &phases, const QString &name)
{
    for (const db::PhaseRecord &p : phases)
        if (p.name == name)
            return &p;
    return nullptr;
}

} // namespace

class TestRunner : public QObject
{
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    int m_dbCount = 0;

    QString newDb() { return m_dir.filePath(u"db%1.sqlite"_s.arg(++m_dbCount)); }

    RunnerOptions options(const QString &db, const QString &powercapRoot)
    {
        RunnerOptions o;
        o.databasePath = db;
        o.discovery = DiscoveryOptions::fromEnvironment();
        o.discovery.powercapRoot = powercapRoot;
        o.discovery.perfEventRoot = m_dir.filePath(u"no-perf"_s); // no real perf_event RAPL
        o.discovery.nvmlLibrary = m_dir.filePath(u"no-nvml.so"_s);
        return o;
    }

    // Gross energy of a phase against the fake's power x duration; net against
    // (power - idle power) x duration. Tolerances: 2 % plus 10 ms of power for the counter
    // being a little stale at a read on a loaded machine.
    static void checkPhase(const db::PhaseRecord &p, double powerW, double idleW)
    {
        QCOMPARE(p.energy.size(), 1);
        const db::PhaseEnergyRecord &e = p.energy.first();
        QCOMPARE(e.domain, u"package-0"_s);
        QCOMPARE(e.kind, db::ValueKind::Measured);
        const double expected = powerW * p.duration;
        const double slack = 0.02 * expected + powerW * 0.010;
        QVERIFY2(std::fabs(e.grossJ - expected) <= slack,
                 qPrintable(u"%1: gross %2 J, expected %3 J (%4 W x %5 s)"_s.arg(p.name)
                                .arg(e.grossJ)
                                .arg(expected)
                                .arg(powerW)
                                .arg(p.duration)));
        const double expectedNet = (powerW - idleW) * p.duration;
        QVERIFY2(std::fabs(e.netJ - expectedNet) <= slack + 0.02 * idleW * p.duration,
                 qPrintable(u"%1: net %2 J, expected %3 J"_s.arg(p.name)
                                .arg(e.netJ)
                                .arg(expectedNet)));
        QVERIFY(std::fabs(e.avgPowerW - e.grossJ / p.duration) < 1e-9 * powerW + 1e-9);
        if (p.duration >= 0.2) // long enough for the 1-2 % figure
            QVERIFY2(std::fabs(e.grossJ / expected - 1) <= 0.02,
                     qPrintable(u"%1: %2 vs %3"_s.arg(p.name).arg(e.grossJ).arg(expected)));
    }

private Q_SLOTS:
    void initTestCase()
    {
        if (!haveFashionMnist())
            QSKIP("Fashion-MNIST is not installed in /usr/share/datasets/fashion-mnist "
                  "(apt install dataset-fashion-mnist)");
        QVERIFY(m_dir.isValid());
    }

    // The fake is constant: idle power equals work power, so every net energy is ~0 -- the
    // work costs nothing above idle. Gross energy must still be power x duration.
    void constantPowerGrossIsPowerTimesDurationAndNetIsZero()
    {
        test::FakePackage pkg(25.0);
        const QString dbPath = newDb();
        ExperimentRunner runner(tinyPlan(), options(dbPath, pkg.root()));
        QString error;
        const auto outcome = runner.run(&error);
        QVERIFY2(outcome, qPrintable(error));
        QCOMPARE(outcome->completed, 2);
        QCOMPARE(outcome->failed, 0);
        QVERIFY(!outcome->canceled);

        Db db(dbPath);
        QCOMPARE(db.runs.size(), 2);
        for (const db::RunRecord &r : db.runs) {
            QCOMPARE(r.status, db::RunStatus::Completed);
            QVERIFY(!r.flags.contains(u"estimate"_s));
            const auto domains = *db.store.domains(r.id, nullptr);
            QCOMPARE(domains.size(), 1);
            QCOMPARE(domains.first().kind, db::ValueKind::Measured);
            QCOMPARE(domains.first().meterId, u"rapl-powercap"_s);
            const QList<db::PhaseRecord> phases = db.phases(r.id);
            QStringList names;
            for (const db::PhaseRecord &p : phases)
                names.append(p.name);
            QCOMPARE(names, (QStringList{u"idle"_s, u"train"_s, u"evaluate"_s, u"inference:b1"_s,
                                         u"inference:b16"_s}));
            const bool reused = r.flags.contains(u"train-reused"_s);
            QCOMPARE(reused, r.key.repetition == 1); // rep 0 trains, rep 1 reuses its training
            for (const db::PhaseRecord &p : phases) {
                if (p.name == u"train"_s && reused)
                    continue;
                checkPhase(p, 25.0, 25.0);
            }
            const auto idleW = db.metric(r.id, u"idle"_s, u"idle_power_w/package-0"_s);
            QVERIFY(idleW && std::fabs(*idleW - 25.0) < 0.5);
            // Metrics of every kind are there.
            const auto acc = db.metric(r.id, u"evaluate"_s, u"accuracy"_s);
            QVERIFY(acc && *acc > 0.3 && *acc <= 1.0); // 1 epoch on 512 images: well above 10 %
            QVERIFY(db.metric(r.id, u"inference:b16"_s, u"latency_p50_ms"_s));
            QVERIFY(db.metric(r.id, u"inference:b16"_s, u"energy_per_inference_j/package-0"_s));
            QCOMPARE(*db.metric(r.id, u"inference:b16"_s, u"batches"_s), 10.0);
            QVERIFY(db.metric(r.id, QString(), u"params"_s));
            QVERIFY(db.metric(r.id, QString(), u"macs"_s));
            QVERIFY(db.metric(r.id, u"train"_s, u"energy_per_training_sample_j/package-0"_s));
            // Flags agree with the figures they are derived from.
            bool shortPhase = false;
            for (const db::PhaseRecord &p : phases)
                if (p.name != u"idle"_s && !(reused && p.name == u"train"_s))
                    shortPhase = shortPhase || p.duration < 10 * 0.001;
            QCOMPARE(r.flags.contains(u"short-phase"_s), shortPhase);
            const auto load = db.metric(r.id, QString(), u"background_load_cores"_s);
            QVERIFY(load);
            QCOMPARE(r.flags.contains(u"background-load"_s), *load > 0.10);
            // Samples were stored.
            const auto totals = *db.store.runEnergy(r.id, nullptr);
            QCOMPARE(totals.size(), 1);
            QVERIFY(totals.first().samples > 3);
        }
        // The reused train phase carries the measured figures of the run that trained.
        const QList<db::PhaseRecord> phases0 = db.phases(db.runs.at(0).id);
        const QList<db::PhaseRecord> phases1 = db.phases(db.runs.at(1).id);
        const db::PhaseRecord *trained = named(phases0, u"train"_s);
        const db::PhaseRecord *reused = named(phases1, u"train"_s);
        QVERIFY(trained && reused);
        QCOMPARE(reused->energy.first().grossJ, trained->energy.first().grossJ);
        QCOMPARE(reused->energy.first().netJ, trained->energy.first().netJ);
        QCOMPARE(reused->duration, trained->duration);
        QVERIFY(trained->energy.first().grossJ > 0);
        QCOMPARE(*db.metric(db.runs.at(1).id, u"train"_s, u"reused_from_run"_s),
                 double(db.runs.at(0).id));
        const QJsonObject cache = QJsonDocument::fromJson(db.runs.at(1).configJson)
                                      .object()
                                      .value(u"trainCache"_s)
                                      .toObject();
        QVERIFY(cache.value(u"reused"_s).toBool());
        QVERIFY(QFileInfo::exists(cache.value(u"file"_s).toString()));
        QVERIFY(cache.value(u"file"_s).toString().startsWith(QFileInfo(dbPath).absoluteFilePath() + u".cache/"_s));

        // A second experiment on the same database reuses the cached model from disk.
        ExperimentRunner again(tinyPlan(QJsonObject{{u"repetitions"_s, 1}}),
                               options(dbPath, pkg.root()));
        QVERIFY2(again.run(&error), qPrintable(error));
        Db db2(dbPath);
        QCOMPARE(db2.runs.size(), 1);
        QVERIFY(db2.runs.first().flags.contains(u"train-reused"_s));
        QCOMPARE(*db2.metric(db2.runs.first().id, u"train"_s, u"reused_from_run"_s),
                 double(db.runs.at(0).id));
    }

    // Idle at 10 W, work at 30 W: net energy is the 20 W above idle times the duration.
    void netEnergyIsThePowerAboveIdle()
    {
        test::FakePackage pkg(10.0);
        RecordingSink sink;
        sink.onEvent = [&](const RunEvent &e) {
            if (e.type == RunEventType::Phase && e.state == u"begin"_s && e.phase == u"train"_s)
                pkg.setPower(30.0);
        };
        RunnerOptions o = options(newDb(), pkg.root());
        o.events = &sink;
        ExperimentRunner runner(
            tinyPlan(QJsonObject{{u"repetitions"_s, 1},
                                 {u"dataset"_s, QJsonObject{{u"trainLimit"_s, 6000}}},
                                 {u"training"_s, QJsonObject{{u"epochs"_s, 2}}},
                                 {u"inference"_s, QJsonObject{{u"batches"_s, 40}}}}),
            o);
        QString error;
        const auto outcome = runner.run(&error);
        QVERIFY2(outcome, qPrintable(error));
        QCOMPARE(outcome->completed, 1);
        Db db(o.databasePath);
        const QList<db::PhaseRecord> phases = db.phases(db.runs.first().id);
        checkPhase(*named(phases, u"idle"_s), 10.0, 10.0);
        for (const db::PhaseRecord &p : phases)
            if (p.name != u"idle"_s)
                checkPhase(p, 30.0, 10.0);
        QVERIFY(named(phases, u"train"_s)->duration > 0.1);
    }

    void estimateMeterLabelsEveryFigure()
    {
        RecordingSink sink;
        RunnerOptions o = options(newDb(), m_dir.filePath(u"no-powercap"_s));
        o.meters = {u"estimate"_s};
        o.events = &sink;
        ExperimentRunner runner(tinyPlan(QJsonObject{{u"repetitions"_s, 1}}), o);
        QCOMPARE(runner.plan().measurement.meters, QStringList{u"estimate"_s});
        QString error;
        const auto outcome = runner.run(&error);
        QVERIFY2(outcome, qPrintable(error));
        QCOMPARE(outcome->completed, 1);
        Db db(o.databasePath);
        const db::RunRecord &r = db.runs.first();
        QVERIFY(r.flags.contains(u"estimate"_s));
        const QList<db::RunDomain> domains = *db.store.domains(r.id, nullptr);
        QCOMPARE(domains.size(), 1);
        for (const db::RunDomain &d : domains)
            QCOMPARE(d.kind, db::ValueKind::Estimate);
        const QList<db::PhaseRecord> phases = db.phases(r.id);
        QVERIFY(phases.size() >= 5);
        for (const db::PhaseRecord &p : phases)
            for (const db::PhaseEnergyRecord &e : p.energy)
                QCOMPARE(e.kind, db::ValueKind::Estimate);
        int energyMetrics = 0;
        for (const db::MetricRecord &m : db.metrics(r.id))
            if (m.name.contains(u"energy"_s) || m.name.startsWith(u"edp"_s) ||
                m.name.startsWith(u"idle_power"_s)) {
                QCOMPARE(m.kind, db::ValueKind::Estimate);
                ++energyMetrics;
            }
        QVERIFY(energyMetrics > 5);
        RunEvent started;
        for (const RunEvent &e : sink.events())
            if (e.type == RunEventType::ExperimentStarted)
                started = e;
        QCOMPARE(started.type, RunEventType::ExperimentStarted);
        QVERIFY(started.estimateOnly);
        QCOMPARE(started.domains.first().kind, MeterKind::Estimate);
    }

    void jsonlStreamParsesWithPhasesInOrder()
    {
        test::FakePackage pkg(20.0);
        QBuffer buffer;
        QVERIFY(buffer.open(QIODevice::WriteOnly));
        JsonlEventWriter writer(&buffer);
        RunnerOptions o = options(newDb(), pkg.root());
        o.events = &writer;
        o.sampleEventIntervalS = 0.05;
        ExperimentRunner runner(tinyPlan(), o);
        QString error;
        QVERIFY2(runner.run(&error), qPrintable(error));

        RunEventReader reader;
        const QList<RunEvent> events = reader.feed(buffer.data()) + reader.finish();
        QVERIFY2(reader.badLines() == 0, qPrintable(reader.errors().join(u'\n')));
        // Only log lines (loading the data set) may come before experiment-started.
        qsizetype first = 0;
        while (first < events.size() && events.at(first).type == RunEventType::Log)
            ++first;
        QCOMPARE(events.value(first).type, RunEventType::ExperimentStarted);
        QCOMPARE(events.last().type, RunEventType::ExperimentFinished);
        QCOMPARE(events.last().completed, 2);
        QStringList phaseOrder; // per run: "run-started", "begin idle", "end idle", ...
        int samples = 0;
        double lastT = -1;
        for (const RunEvent &e : events) {
            QVERIFY(e.t >= lastT - 1e-9 || e.type == RunEventType::Sample); // monotonic clock
            if (e.type != RunEventType::Sample)
                lastT = e.t;
            if (e.type == RunEventType::Sample) {
                ++samples;
                QCOMPARE(e.energy.size(), 1);
                QVERIFY(std::isfinite(e.energy.first().powerW));
            } else if (e.type == RunEventType::RunStarted) {
                phaseOrder.append(u"run"_s);
            } else if (e.type == RunEventType::Phase) {
                phaseOrder.append(e.state + u' ' + e.phase + (e.reused ? u" reused"_s : QString()));
            } else if (e.type == RunEventType::RunFinished) {
                phaseOrder.append(u"finished "_s + e.status);
            }
        }
        QVERIFY(samples > 2);
        const QStringList common{u"begin evaluate"_s,     u"end evaluate"_s,
                                 u"begin inference:b1"_s, u"end inference:b1"_s,
                                 u"begin inference:b16"_s, u"end inference:b16"_s,
                                 u"finished completed"_s};
        const QStringList expected =
            QStringList{u"run"_s, u"begin idle"_s, u"end idle"_s, u"begin train"_s,
                        u"end train"_s} +
            common +
            QStringList{u"run"_s, u"begin idle"_s, u"end idle"_s, u"end train reused"_s} + common;
        QCOMPARE(phaseOrder, expected);
    }

    void cancelMidRunStoresTheRunAsCancelled()
    {
        test::FakePackage pkg(20.0);
        RecordingSink sink;
        RunnerOptions o = options(newDb(), pkg.root());
        o.events = &sink;
        ExperimentRunner runner(
            tinyPlan(QJsonObject{{u"training"_s, QJsonObject{{u"epochs"_s, 3}}}}), o);
        sink.onEvent = [&](const RunEvent &e) {
            if (e.type == RunEventType::Progress && e.phase == u"train"_s)
                runner.cancel(); // from inside the training loop, like a signal would
        };
        QString error;
        const auto outcome = runner.run(&error);
        QVERIFY2(outcome, qPrintable(error));
        QVERIFY(outcome->canceled);
        QCOMPARE(outcome->cancelled, 1);
        QCOMPARE(outcome->completed, 0);
        Db db(o.databasePath);
        QCOMPARE(db.runs.size(), 1); // the second repetition never started
        QCOMPARE(db.runs.first().status, db::RunStatus::Cancelled);
        QVERIFY2(db.runs.first().error.contains(u"phase 'train'"_s),
                 qPrintable(db.runs.first().error));
        QCOMPARE(sink.events().last().status, u"cancelled"_s);
    }

    void failedRunsDoNotStopTheExperiment()
    {
        test::FakePackage pkg(20.0);
        const QJsonArray variants{
            QJsonObject{{u"label"_s, u"baseline"_s}, {u"chain"_s, QJsonArray()}},
            QJsonObject{{u"label"_s, u"noop"_s},
                        {u"chain"_s, QJsonArray{QJsonObject{{u"plugin"_s, u"test.noop"_s}}}}}};
        RunnerOptions o = options(newDb(), pkg.root());
        ExperimentRunner runner(
            tinyPlan(QJsonObject{{u"repetitions"_s, 1}, {u"variants"_s, variants}}), o);
        QString error;
        const auto outcome = runner.run(&error);
        QVERIFY2(outcome, qPrintable(error));
        QCOMPARE(outcome->completed, 1);
        QCOMPARE(outcome->failed, 1);
        QVERIFY(outcome->failures.first().contains(u"technique plugins are not available"_s));
        Db db(o.databasePath);
        QCOMPARE(db.runs.size(), 2);
        QCOMPARE(db.runs.at(0).status, db::RunStatus::Completed);
        QCOMPARE(db.runs.at(1).status, db::RunStatus::Failed);
        QVERIFY(db.runs.at(1).error.contains(u"variants[1].chain[0]"_s));
    }

    void techniqueChainIsMeasuredAsPrepareWithSubPhases()
    {
        test::FakePackage pkg(20.0);
        const QJsonArray variants{
            QJsonObject{{u"label"_s, u"baseline"_s}, {u"chain"_s, QJsonArray()}},
            QJsonObject{{u"label"_s, u"half"_s},
                        {u"chain"_s, QJsonArray{QJsonObject{{u"plugin"_s, u"test.noop"_s}}}}},
            QJsonObject{{u"label"_s, u"broken"_s},
                        {u"chain"_s, QJsonArray{QJsonObject{{u"plugin"_s, u"test.fail"_s}}}}}};
        RunnerOptions o = options(newDb(), pkg.root());
        int created = 0;
        o.techniqueFactory = [&](const PlanStep &step, QString *) {
            ++created;
            return std::make_unique<TestTechnique>(step.plugin == u"test.fail"_s);
        };
        ExperimentRunner runner(
            tinyPlan(QJsonObject{{u"repetitions"_s, 1}, {u"variants"_s, variants}}), o);
        QString error;
        const auto outcome = runner.run(&error);
        QVERIFY2(outcome, qPrintable(error));
        QCOMPARE(created, 2);
        QCOMPARE(outcome->completed, 2);
        QCOMPARE(outcome->failed, 1);
        Db db(o.databasePath);
        const db::RunRecord &half = db.runs.at(1);
        QCOMPARE(half.key.variant, u"half"_s);
        QVERIFY(half.flags.contains(u"train-reused"_s)); // starts from the cached baseline
        const QList<db::PhaseRecord> phases = db.phases(half.id);
        const db::PhaseRecord *all = named(phases, u"prepare"_s);
        const db::PhaseRecord *a = named(phases, u"prepare:test.noop"_s);
        const db::PhaseRecord *b = named(phases, u"prepare:score"_s);
        QVERIFY(all && a && b);
        QVERIFY(all->ordinal < a->ordinal && a->ordinal < b->ordinal);
        QVERIFY(std::fabs(all->energy.first().grossJ -
                          (a->energy.first().grossJ + b->energy.first().grossJ)) < 1e-9);
        QVERIFY(std::fabs(all->duration - (a->duration + b->duration)) < 1e-6);
        QCOMPARE(*db.metric(half.id, u"prepare"_s, u"sparsity_first_layer"_s), 0.5);
        QVERIFY(*db.metric(half.id, QString(), u"nonzero_params"_s) <
                *db.metric(half.id, QString(), u"params"_s));
        const auto logs = *db.store.techniqueLogs(half.id, nullptr);
        QCOMPARE(logs.size(), 1);
        QCOMPARE(logs.first().plugin, u"test.noop"_s);
        const db::RunRecord &broken = db.runs.at(2);
        QCOMPARE(broken.status, db::RunStatus::Failed);
        QCOMPARE(broken.error, u"prepare (test.fail): boom"_s);
        QVERIFY(named(db.phases(broken.id), u"prepare:test.fail"_s)); // measured until it failed
    }

    // Throttle counters that rise and a machine busy with other work are flagged; the same
    // run on quiet fakes is not.
    void throttlingAndBackgroundLoadAreFlagged()
    {
        test::FakePackage pkg(20.0);
        QTemporaryDir fakes;
        const QString stat = fakes.filePath(u"stat"_s);
        const QString throttle = fakes.filePath(u"cpu/cpu0/thermal_throttle/core_throttle_count"_s);
        QDir().mkpath(QFileInfo(throttle).absolutePath());
        auto write = [](const QString &path, const QByteArray &text) {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
            f.write(text);
        };
        write(stat, "cpu  1000 0 0 50000 0 0 0 0 0 0\n");
        write(throttle, "0\n");
        RecordingSink sink;
        bool busy = true;
        sink.onEvent = [&](const RunEvent &e) {
            if (busy && e.type == RunEventType::Phase && e.state == u"begin"_s &&
                e.phase == u"evaluate"_s) {
                write(stat, "cpu  900000 0 0 50000 0 0 0 0 0 0\n");
                write(throttle, "4\n");
            }
        };
        RunnerOptions o = options(newDb(), pkg.root());
        o.events = &sink;
        o.discovery.procStat = stat;
        o.sysCpuRoot = fakes.filePath(u"cpu"_s);
        ExperimentRunner runner(tinyPlan(QJsonObject{{u"repetitions"_s, 1}}), o);
        QString error;
        QVERIFY2(runner.run(&error), qPrintable(error));
        Db db(o.databasePath);
        const db::RunRecord &r = db.runs.first();
        QVERIFY2(r.flags.contains(u"throttling"_s), qPrintable(r.flags.join(u' ')));
        QVERIFY(r.flags.contains(u"background-load"_s));
        QCOMPARE(*db.metric(r.id, QString(), u"throttle_events"_s), 4.0);
        QVERIFY(*db.metric(r.id, QString(), u"background_load_cores"_s) > 100);

        busy = false; // quiet: nothing changes, /proc/stat shows no other work
        write(stat, "cpu  1000 0 0 50000 0 0 0 0 0 0\n");
        write(throttle, "0\n");
        ExperimentRunner quiet(tinyPlan(QJsonObject{{u"repetitions"_s, 1}}), o);
        QVERIFY2(quiet.run(&error), qPrintable(error));
        Db db2(o.databasePath);
        const db::RunRecord &q = db2.runs.first();
        QVERIFY(!q.flags.contains(u"throttling"_s));
        QVERIFY(!q.flags.contains(u"background-load"_s));
        QCOMPARE(*db2.metric(q.id, QString(), u"throttle_events"_s), 0.0);
        QCOMPARE(*db2.metric(q.id, QString(), u"background_load_cores"_s), 0.0);
    }

    // A cancelled experiment is continued with --resume: only the missing run is measured.
    void resumeRunsOnlyWhatIsMissing()
    {
        test::FakePackage pkg(20.0);
        RecordingSink sink;
        RunnerOptions o = options(newDb(), pkg.root());
        o.diskCache = false;
        o.events = &sink;
        QString error;
        {
            ExperimentRunner first(tinyPlan(), o);
            sink.onEvent = [&](const RunEvent &e) {
                if (e.type == RunEventType::RunStarted && e.position == 2)
                    first.cancel();
            };
            const auto outcome = first.run(&error);
            QVERIFY2(outcome, qPrintable(error));
            QCOMPARE(outcome->completed, 1);
            QCOMPARE(outcome->cancelled, 1);
        }
        sink.onEvent = nullptr;
        QVERIFY(!QFileInfo::exists(o.databasePath + u".cache"_s));
        o.resume = true;
        ExperimentRunner second(tinyPlan(), o);
        const auto outcome = second.run(&error);
        QVERIFY2(outcome, qPrintable(error));
        QVERIFY(outcome->resumed);
        QCOMPARE(outcome->experimentId, 1);
        QCOMPARE(outcome->runsTotal, 2);
        QCOMPARE(outcome->runsSkipped, 1);
        QCOMPARE(outcome->completed, 1);
        Db db(o.databasePath);
        QCOMPARE(db.runs.size(), 3); // completed rep 0, cancelled rep 1, completed rep 1
        QCOMPARE(db.runs.at(2).key.repetition, 1);
        QCOMPARE(db.runs.at(2).status, db::RunStatus::Completed);
        QVERIFY(!db.runs.at(2).flags.contains(u"train-reused"_s)); // memory cache is per process
    }
};

QTEST_GUILESS_MAIN(TestRunner)
#include "tst_runner.moc"
