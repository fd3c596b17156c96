// SPDX-License-Identifier: GPL-3.0-or-later
#include "runner.h"

#include "backend.h"
#include "baseline_cache.h"
#include "database/sample_writer.h"
#include "database/store.h"
#include "datasets.h"
#include "engine_log.h"
#include "evaluator.h"
#include "feedback.h"
#include "inference_timer.h"
#include "measurement/estimate_meter.h"
#include "measurement/sampler.h"
#include "model_metrics.h"
#include "run_events.h"
#include "run_statistics.h"
#include "technique.h"
#include "trainer.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <chrono>
#include <cmath>
#include <thread>

using namespace Qt::StringLiterals;

namespace jb {

namespace {

/// Forwards progress and log lines of the engine's long loops to the runner; its cancel flag
/// is the runner's.
class RunnerFeedback final : public Feedback
{
public:
    std::function<void(double, const QString &)> onProgress;
    std::function<void(const QString &)> onLog;
    void setProgress(double fraction, const QString &what) override
    {
        if (onProgress)
            onProgress(fraction, what);
    }
    void log(const QString &message) override
    {
        if (onLog)
            onLog(message);
    }
};

/// The figures of a train phase that a run reuses from the run that trained the model.
struct ReusedTrain
{
    CachedTraining info;
    db::PhaseRecord phase; ///< the source run's train phase, as stored
    double samplesSeen = 0;
};

/// Everything about the run in progress.
struct RunState
{
    const GridEntry *entry = nullptr;
    qint64 runId = 0;
    Backend backend;
    Sampler sampler;
    double samplerStartWall = 0;
    std::unique_ptr<db::SampleWriter> writer;
    QList<int> channels;
    QString writerError;
    double lastDrain = 0;

    std::unique_ptr<SampleStream> stream; ///< sample events, rows for the database

    QString phase;
    int step = 0;
    int steps = 1;
    IdleBaseline liveIdle;

    std::optional<ReusedTrain> reused;
    std::optional<TrainResult> trained;
    QMap<qint64, InferenceResult> inference;
    QList<db::MetricRecord> metrics;
    QList<db::TechniqueLogRecord> techniqueLogs;
    QStringList flags;
    QString cancelledIn;
};

/// The energy between two Sampler::readNow() rows (TechniqueContext::measureEnergy).
std::optional<WorkloadEnergy> workloadEnergyBetween(const SampleRow &before, const SampleRow &after,
                                                    const QList<SamplerDomain> &domains,
                                                    const QStringList &names,
                                                    const IdleBaseline &idle, QString *error)
{
    WorkloadEnergy w;
    w.seconds = after.timeS - before.timeS;
    bool anyMeasured = false;
    for (const SamplerDomain &d : domains)
        anyMeasured = anyMeasured || d.info.kind == MeterKind::Measured;
    w.estimate = !anyMeasured;
    bool haveNet = idle.available;
    double net = 0;
    for (qsizetype i = 0; i < domains.size(); ++i) {
        const SamplerDomain &d = domains.at(i);
        WorkloadDomainEnergy e;
        e.domain = names.at(i);
        e.estimate = d.info.kind == MeterKind::Estimate;
        e.summed = d.info.partOf.isEmpty() && e.estimate == w.estimate;
        e.joules = after.joules.at(i) - before.joules.at(i);
        if (idle.available && idle.powerW.contains(e.domain))
            e.netJoules = e.joules - idle.powerW.value(e.domain) * w.seconds;
        if (e.summed) {
            if (!std::isfinite(e.joules)) {
                *error = u"measuring a workload: the read of domain %1 (%2) failed"_s.arg(
                    e.domain, d.meterId);
                return std::nullopt;
            }
            w.joules += e.joules;
            haveNet = haveNet && e.netJoules.has_value();
            net += e.netJoules.value_or(0);
        }
        w.domains.append(e);
    }
    if (haveNet)
        w.netJoules = net;
    return w;
}

} // namespace

class ExperimentRunner::Impl
{
public:
    Impl(Plan p, RunnerOptions o) : plan(std::move(p)), opt(std::move(o)) {}

    std::optional<ExperimentOutcome> run(QString *error);

    Plan plan;
    RunnerOptions opt;
    RunnerFeedback feedback;

    bool setUp(QString *error);
    void runOne(const GridEntry &entry);
    QString prepareRun(const GridEntry &entry, RunState &rs,
                       std::vector<std::unique_ptr<Technique>> *techniques,
                       std::unique_ptr<Model> *model, NamedTensors *initialState,
                       QJsonObject *trainCache, std::optional<QString> *cacheHash);
    QString measure(RunState &rs, std::vector<std::unique_ptr<Technique>> &techniques,
                    std::unique_ptr<Model> model, NamedTensors initialState,
                    const std::optional<QString> &cacheHash);
    void finish(RunState &rs, db::RunStatus status, QString errorText, double wallStart);

    void mark(RunState &rs, const QString &name);
    void drain(RunState &rs, bool force);
    bool sleepCancellable(double seconds);
    void metric(RunState &rs, const QString &phase, const QString &name, double value,
                const QString &unit, db::ValueKind kind = db::ValueKind::Computed);

    void emitEvent(RunEvent e) const;
    void log(const QString &level, const QString &message, qint64 runId = 0) const;

    db::Store store;
    QList<std::shared_ptr<Meter>> meters;
    QStringList meterWarnings;
    QList<SamplerDomain> domains;
    QStringList domainNames; ///< stored names, in sampler column order
    BackendInfo machine;
    QJsonObject environment;
    DatasetSplits splits;
    std::unique_ptr<BaselineCache> cache;
    double t0 = 0;
    int position = 0;
    int runsToRun = 0;
    /// Set when the database refused to store a run (disk full, read-only, locked): the
    /// experiment stops, since the next runs could not be stored either.
    QString storageFailure;
    ExperimentOutcome outcome;
    RunState *current = nullptr;
    std::thread::id runnerThread;
};

// --- events and logging ---------------------------------------------------------------------

void ExperimentRunner::Impl::emitEvent(RunEvent e) const
{
    e.t = monotonicSeconds() - t0;
    if (opt.events)
        opt.events->event(e);
}

void ExperimentRunner::Impl::log(const QString &level, const QString &message, qint64 runId) const
{
    if (opt.events) {
        // The sink shows it (the CLI on stderr); logging it too would print it twice.
    } else if (level == u"error"_s)
        qCWarning(lcEngine).noquote() << "error:" << message;
    else if (level == u"warning"_s)
        qCWarning(lcEngine).noquote() << message;
    else
        qCInfo(lcEngine).noquote() << message;
    RunEvent e;
    e.type = RunEventType::Log;
    e.level = level;
    e.message = message;
    e.runId = runId;
    emitEvent(e);
}

void ExperimentRunner::Impl::metric(RunState &rs, const QString &phase, const QString &name,
                                    double value, const QString &unit, db::ValueKind kind)
{
    if (std::isfinite(value))
        rs.metrics.append({phase, name, value, unit, kind});
}

// --- experiment -------------------------------------------------------------------------------

bool ExperimentRunner::Impl::setUp(QString *error)
{
    for (const QString &b : plan.backends)
        if (!Backend::parse(b, error))
            return false;
    const MeterRegistry registry = MeterRegistry::builtIn();
    const QList<MeterStatus> found = registry.discover(opt.discovery);
    const std::optional<MeterSelection> selection =
        plan.measurement.isAuto() ? registry.selectDefault(found, error)
                                  : registry.select(found, plan.measurement.meters, error);
    if (!selection)
        return false;
    meters = selection->meters;
    meterWarnings = selection->warnings;
    for (const QString &w : meterWarnings)
        log(u"warning"_s, w);
    Sampler probe;
    probe.setMeters(meters);
    domains = probe.domains();
    QStringList plain;
    for (const SamplerDomain &d : domains)
        plain.append(d.info.name);
    for (const SamplerDomain &d : domains) // names must be unique per run
        domainNames.append(plain.count(d.info.name) > 1 ? d.meterId + u':' + d.info.name
                                                        : d.info.name);
    machine = describeMachine();
    environment = captureEnvironment({meters, meterWarnings, machine.toJson(), opt.sysCpuRoot});

    DatasetConfig dc;
    dc.name = plan.dataset.name;
    dc.path = plan.dataset.path.isEmpty() ? QString()
                                          : Plan::resolvePath(opt.planFilePath, plan.dataset.path);
    dc.validationFraction = plan.dataset.validationFraction;
    dc.seed = static_cast<quint64>(plan.dataset.seed);
    dc.trainLimit = plan.dataset.trainLimit > 0 ? plan.dataset.trainLimit : -1;
    dc.testLimit = plan.dataset.testLimit > 0 ? plan.dataset.testLimit : -1;
    dc.normalize = plan.dataset.normalize;
    log(u"info"_s, u"loading data set %1"_s.arg(dc.name));
    if (!loadDatasetSplits(dc, &splits, error))
        return false;
    log(u"info"_s, splits.source);

    if (!store.open(opt.databasePath, db::Store::OpenMode::ReadWrite, error))
        return false;
    if (store.recoveredAtOpen() > 0)
        log(u"warning"_s, u"%1 run(s) of a process that is gone were marked interrupted"_s.arg(
                              store.recoveredAtOpen()));
    const QString cacheDir = !opt.diskCache            ? QString()
                             : opt.cacheDir.isEmpty() ? store.path() + u".cache"_s
                                                      : opt.cacheDir;
    cache = std::make_unique<BaselineCache>(cacheDir);
    return true;
}

std::optional<ExperimentOutcome> ExperimentRunner::Impl::run(QString *error)
{
    t0 = monotonicSeconds();
    runnerThread = std::this_thread::get_id();
    const QList<GridEntry> grid = expandGrid(plan);
    const QList<GridEntry> entries = shardOf(grid, opt.shard);
    if (entries.isEmpty() && !grid.isEmpty()) {
        const qsizetype reps = shardRepetitionCount(grid);
        *error = u"shard %1/%2 has no runs: a shard runs whole repetitions (so that every "
                 "variant is measured on the same node as its baseline) and the plan has %3; "
                 "use at most %3 shards, or raise \"repetitions\""_s
                     .arg(opt.shard.index)
                     .arg(opt.shard.count)
                     .arg(reps);
        return std::nullopt;
    }
    if (!setUp(error))
        return std::nullopt;
    const QString hash = plan.hash();
    QSet<QPair<QString, int>> done;
    if (opt.resume) {
        const auto previous = store.experimentsByPlanHash(hash, error);
        if (!previous)
            return std::nullopt;
        if (!previous->isEmpty()) {
            outcome.experimentId = previous->last().id;
            outcome.resumed = true;
            const auto keys = store.completedRunKeys(outcome.experimentId, error);
            if (!keys)
                return std::nullopt;
            for (const db::RunKey &k : *keys)
                done.insert({k.configKey, k.repetition});
        } else {
            log(u"info"_s, u"--resume: no experiment with plan hash %1 in %2; starting a new "
                           "one"_s
                               .arg(hash.left(12), store.path()));
        }
    }
    if (!outcome.resumed) {
        const auto id = store.createExperiment(plan.name, plan.toJsonText(), hash, error);
        if (!id)
            return std::nullopt;
        outcome.experimentId = *id;
    }
    QList<GridEntry> todo;
    for (const GridEntry &e : entries)
        if (!done.contains({e.configKey, static_cast<int>(e.repetition)}))
            todo.append(e);
    outcome.runsTotal = static_cast<int>(entries.size());
    outcome.runsSkipped = outcome.runsTotal - static_cast<int>(todo.size());
    runsToRun = static_cast<int>(todo.size());

    RunEvent started;
    started.type = RunEventType::ExperimentStarted;
    started.experimentId = outcome.experimentId;
    started.name = plan.name;
    started.planHash = hash;
    started.database = store.path();
    started.shard = u"%1/%2"_s.arg(opt.shard.index).arg(opt.shard.count);
    started.resumed = outcome.resumed;
    started.runsTotal = outcome.runsTotal;
    started.runsToRun = runsToRun;
    started.runsSkipped = outcome.runsSkipped;
    bool estimateOnly = !domains.isEmpty();
    for (qsizetype i = 0; i < domains.size(); ++i) {
        const SamplerDomain &d = domains.at(i);
        estimateOnly = estimateOnly && d.info.kind == MeterKind::Estimate;
        started.domains.append(
            {d.meterId, domainNames.at(i), d.info.kind, d.info.method, d.info.partOf});
    }
    started.estimateOnly = estimateOnly;
    started.warnings = meterWarnings;
    emitEvent(started);

    for (const GridEntry &e : todo) {
        if (feedback.isCanceled()) {
            outcome.canceled = true;
            break;
        }
        if (!storageFailure.isEmpty()) {
            outcome.failures.append(u"stopped after %1 of %2 runs: the database cannot store "
                                    "runs (%3); runs stored before are kept, fix the cause and "
                                    "continue with run --resume"_s
                                        .arg(position)
                                        .arg(runsToRun)
                                        .arg(storageFailure));
            log(u"error"_s, outcome.failures.last());
            break;
        }
        ++position;
        runOne(e);
    }
    outcome.canceled = outcome.canceled || feedback.isCanceled();

    RunEvent finished;
    finished.type = RunEventType::ExperimentFinished;
    finished.experimentId = outcome.experimentId;
    finished.status = outcome.canceled   ? u"cancelled"_s
                      : outcome.failed   ? u"failed"_s
                                         : u"completed"_s;
    finished.completed = outcome.completed;
    finished.failed = outcome.failed;
    finished.cancelled = outcome.cancelled;
    finished.runsSkipped = outcome.runsSkipped;
    finished.durationS = monotonicSeconds() - t0;
    emitEvent(finished);
    return outcome;
}

// --- one run ----------------------------------------------------------------------------------

void ExperimentRunner::Impl::runOne(const GridEntry &entry)
{
    const double wallStart = monotonicSeconds();
    RunState rs;
    rs.entry = &entry;
    current = &rs;
    std::vector<std::unique_ptr<Technique>> techniques;
    std::unique_ptr<Model> model;
    NamedTensors initialState;
    QJsonObject trainCache;
    std::optional<QString> cacheHash;
    const QString setupError =
        prepareRun(entry, rs, &techniques, &model, &initialState, &trainCache, &cacheHash);

    const PlanVariant &variant = plan.variants.at(entry.variant);
    QJsonObject config = gridEntryConfig(plan, entry.variant, entry.backend);
    config.insert(u"label"_s, entry.label);
    config.insert(u"baselineKey"_s, entry.baselineKey);
    config.insert(u"baseline"_s, entry.baseline);
    config.insert(u"gridIndex"_s, static_cast<qint64>(entry.index));
    config.insert(u"planHash"_s, plan.hash());
    config.insert(u"trainCache"_s, trainCache);
    db::RunKey key;
    key.variant = entry.label;
    key.chainJson = QJsonDocument(config.value(u"chain"_s).toArray()).toJson(QJsonDocument::Compact);
    key.backend = entry.backendId;
    key.repetition = static_cast<int>(entry.repetition);
    key.configKey = entry.configKey;
    QJsonObject env = environment;
    env.insert(u"backendApplied"_s, describeMachine().toJson());
    env.insert(u"cpufreqAtStart"_s, readCpuFrequency(opt.sysCpuRoot).toJson());
    QString error;
    const auto runId = store.createRun(outcome.experimentId, key,
                                       QJsonDocument(config).toJson(QJsonDocument::Compact),
                                       QJsonDocument(env).toJson(QJsonDocument::Compact), &error);
    if (!runId) {
        // Without a run row nothing can be stored; count it and stop (see storageFailure).
        storageFailure = error;
        ++outcome.failed;
        outcome.failures.append(u"%1, %2, repetition %3: %4"_s.arg(entry.label, entry.backendId)
                                    .arg(entry.repetition)
                                    .arg(error));
        log(u"error"_s, outcome.failures.last());
        current = nullptr;
        return;
    }
    rs.runId = *runId;
    outcome.runIds.append(rs.runId);
    RunEvent started;
    started.type = RunEventType::RunStarted;
    started.experimentId = outcome.experimentId;
    started.runId = rs.runId;
    started.position = position;
    started.runsToRun = runsToRun;
    started.gridIndex = static_cast<int>(entry.index);
    started.variant = variant.label;
    started.backend = entry.backendId;
    started.repetition = static_cast<int>(entry.repetition);
    started.configKey = entry.configKey;
    started.baseline = entry.baseline;
    emitEvent(started);

    QString runError = setupError;
    if (runError.isEmpty()) {
        try {
            runError = measure(rs, techniques, std::move(model), std::move(initialState),
                               cacheHash);
        } catch (const std::exception &e) {
            runError = u"unexpected error: %1"_s.arg(exceptionText(e));
        } catch (...) {
            runError = u"unexpected error of unknown type"_s;
        }
    }
    if (rs.sampler.isRunning())
        rs.sampler.stop();
    if (rs.stream)
        rs.stream->stop(); // after the sampler: takes its last read too
    db::RunStatus status = db::RunStatus::Completed;
    if (!rs.cancelledIn.isEmpty() || (runError.isEmpty() && feedback.isCanceled())) {
        status = db::RunStatus::Cancelled;
        runError = u"cancelled (SIGINT/SIGTERM or cancel()) during phase '%1'; the phase was "
                   "stopped after its current batch"_s
                       .arg(rs.cancelledIn.isEmpty() ? rs.phase : rs.cancelledIn);
    } else if (!runError.isEmpty()) {
        status = db::RunStatus::Failed;
    }
    finish(rs, status, runError, wallStart);
    current = nullptr;
}

QString ExperimentRunner::Impl::prepareRun(const GridEntry &entry, RunState &rs,
                                           std::vector<std::unique_ptr<Technique>> *techniques,
                                           std::unique_ptr<Model> *model,
                                           NamedTensors *initialState, QJsonObject *trainCache,
                                           std::optional<QString> *cacheHash)
{
    QString error;
    const std::optional<Backend> backend = Backend::parse(entry.backendId, &error);
    if (!backend)
        return error;
    rs.backend = *backend;
    if (!applyBackend(rs.backend, &error))
        return error;
    const PlanVariant &variant = plan.variants.at(entry.variant);
    bool techniqueTrains = false;
    for (qsizetype i = 0; i < variant.chain.size(); ++i) {
        const PlanStep &step = variant.chain.at(i);
        if (!opt.techniqueFactory)
            return u"variants[%1].chain[%2]: technique plugins are not available in this "
                   "process (no plugin registry was given), so '%3' cannot run"_s
                .arg(entry.variant)
                .arg(i)
                .arg(step.plugin);
        std::unique_ptr<Technique> t = opt.techniqueFactory(step, &error);
        if (!t)
            return u"technique '%1': %2"_s.arg(step.plugin, error);
        if (t->trainsModel()) {
            if (techniqueTrains)
                return u"variant '%1': more than one step trains the model (trainsModel()); "
                       "only one may"_s
                    .arg(variant.label);
            techniqueTrains = true;
        }
        techniques->push_back(std::move(t));
    }

    const bool trains = plan.training.epochs > 0 || techniqueTrains;
    const bool useCache = plan.cacheBaseline && !techniqueTrains && plan.training.epochs > 0;
    trainCache->insert(u"enabled"_s, useCache);
    trainCache->insert(u"reused"_s, false);
    if (techniqueTrains)
        trainCache->insert(u"note"_s, u"a technique of the chain trains the model"_s);
    if (useCache) {
        const std::optional<QJsonObject> identity = trainingIdentity(
            plan, opt.planFilePath, splits, entry.backendId, machine.torchVersion, &error);
        if (!identity)
            return error;
        const QString hash = BaselineCache::key(*identity);
        *cacheHash = hash;
        trainCache->insert(u"hash"_s, hash);
        QString note;
        db::PhaseRecord sourceTrain;
        std::optional<BaselineCache::Checkout> co =
            cache->checkoutRecorded(hash, store, &sourceTrain, &note);
        if (co) {
            rs.reused = ReusedTrain{co->info, sourceTrain, double(co->info.samplesSeen)};
            *model = std::move(co->model);
            *initialState = std::move(co->initialState);
            trainCache->insert(u"reused"_s, true);
            trainCache->insert(u"sourceRunId"_s, co->info.sourceRunId);
            trainCache->insert(u"sourceKey"_s, co->info.sourceKey);
            trainCache->insert(u"sourcePlanHash"_s, co->info.planHash);
            trainCache->insert(u"file"_s, co->info.file);
        } else if (!note.isEmpty()) {
            log(u"warning"_s, note);
        }
    }
    if (!*model) {
        *model = buildBaselineModel(plan, opt.planFilePath, splits, &error);
        if (!*model)
            return error;
        if (trains)
            *initialState = cloneTensors((*model)->state());
    }
    for (const auto &t : *techniques)
        if (!t->checkSupported(**model, rs.backend, &error))
            return error;
    return {};
}

QString ExperimentRunner::Impl::measure(RunState &rs,
                                        std::vector<std::unique_ptr<Technique>> &techniques,
                                        std::unique_ptr<Model> model, NamedTensors initialState,
                                        const std::optional<QString> &cacheHash)
{
    QString error;
    const GridEntry &entry = *rs.entry;
    const PlanVariant &variant = plan.variants.at(entry.variant);
    rs.writer = store.sampleWriter(rs.runId, &error);
    if (!rs.writer)
        return error;
    for (qsizetype i = 0; i < domains.size(); ++i) {
        const SamplerDomain &d = domains.at(i);
        const auto ch = rs.writer->addDomain(
            {0, domainNames.at(i),
             d.info.kind == MeterKind::Estimate ? db::ValueKind::Estimate : db::ValueKind::Measured,
             d.meterId},
            &error);
        if (!ch)
            return error;
        rs.channels.append(*ch);
    }
    Technique *trainer = nullptr;
    QString trainerPlugin;
    for (size_t i = 0; i < techniques.size(); ++i)
        if (techniques[i]->trainsModel()) {
            trainer = techniques[i].get();
            trainerPlugin = variant.chain.at(static_cast<qsizetype>(i)).plugin;
        }
    const bool ownTraining = !rs.reused && (trainer || plan.training.epochs > 0);
    rs.steps = (plan.measurement.idleBefore > 0) + 1 + !techniques.empty() + 1 +
               static_cast<int>(plan.inference.batchSizes.size()) +
               (plan.measurement.idleAfter > 0);

    rs.sampler.setMeters(meters);
    if (!rs.sampler.setRate(plan.measurement.samplingHz, &error) || !rs.sampler.start(&error))
        return error;
    rs.samplerStartWall = monotonicSeconds();
    for (const QString &w : rs.sampler.warnings())
        log(u"warning"_s, w, rs.runId);
    QList<MeterKind> kinds;
    for (const SamplerDomain &d : domains)
        kinds.append(d.info.kind);
    rs.stream = std::make_unique<SampleStream>(
        rs.sampler, domainNames, kinds, rs.runId, [this](const RunEvent &e) { emitEvent(e); },
        opt.sampleEventIntervalS, opt.sampleEventIntervalS > 0 && opt.events);
    rs.stream->start();
    RunConditionsProbe conditions(opt.discovery.procStat.isEmpty()
                                      ? EstimateMeter::defaultProcStat()
                                      : opt.discovery.procStat,
                                  opt.sysCpuRoot);
    conditions.start();
    auto canceled = [&] {
        if (feedback.isCanceled() && rs.cancelledIn.isEmpty())
            rs.cancelledIn = rs.phase.isEmpty() ? u"between phases"_s : rs.phase;
        return feedback.isCanceled();
    };

    // 1. idle baseline
    if (plan.measurement.idleBefore > 0) {
        mark(rs, u"idle"_s);
        sleepCancellable(plan.measurement.idleBefore);
        canceled();
        mark(rs, QString());
        const QList<PhaseResult> ph = rs.sampler.phases();
        rs.liveIdle = computeIdleBaseline(&ph.last(), nullptr, domainNames, opt.idleDriftFraction);
        if (canceled())
            return {};
    }

    // 2. train (or a recorded reuse of a cached training)
    const TrainOptions trainOptions = baselineTrainOptions(plan.training, rs.backend);
    TechniqueContext ctx;
    ctx.data = &splits;
    ctx.backend = rs.backend;
    ctx.training = trainOptions;
    ctx.seed = static_cast<quint64>(plan.seed);
    ctx.feedback = &feedback;
    QString stepPlugin;
    bool inTrain = false; // inside Technique::train(): sub-phases and metrics belong to `train`
    ctx.beginPhase = [&](const QString &name) { // "finetune" and "prepare:finetune" alike
        const QString prefix = inTrain ? u"train:"_s : u"prepare:"_s;
        mark(rs, name.startsWith(prefix) ? name : prefix + name);
    };
    ctx.log = [&](const QString &message, const QJsonObject &data) {
        rs.techniqueLogs.append({0, stepPlugin, message,
                                 QJsonDocument(data).toJson(QJsonDocument::Compact), QString()});
        log(u"info"_s, u"%1: %2"_s.arg(stepPlugin, message), rs.runId);
    };
    ctx.metric = [&](const QString &name, double value, const QString &unit) {
        metric(rs, inTrain ? u"train"_s : u"prepare"_s, name, value, unit);
    };
    ctx.measureEnergy = [&](const std::function<bool(QString *)> &work,
                            QString *err) -> std::optional<WorkloadEnergy> {
        const std::optional<SampleRow> before = rs.sampler.readNow(err);
        if (!before)
            return std::nullopt;
        if (!work(err))
            return std::nullopt;
        const std::optional<SampleRow> after = rs.sampler.readNow(err);
        if (!after)
            return std::nullopt;
        return workloadEnergyBetween(*before, *after, domains, domainNames, rs.liveIdle, err);
    };
    if (rs.reused) {
        const ReusedTrain &r = *rs.reused;
        log(u"info"_s, u"train: reusing the baseline trained by run %1 (cache %2); its measured "
                       "train figures are recorded with this run, flagged train-reused"_s
                           .arg(r.info.sourceRunId)
                           .arg(r.info.hash.left(12)),
            rs.runId);
        RunEvent e;
        e.type = RunEventType::Phase;
        e.runId = rs.runId;
        e.phase = u"train"_s;
        e.state = u"end"_s;
        e.runT = monotonicSeconds() - rs.samplerStartWall;
        e.durationS = r.phase.duration;
        e.reused = true;
        for (const db::PhaseEnergyRecord &pe : r.phase.energy)
            e.energy.append({pe.domain,
                             pe.kind == db::ValueKind::Estimate ? MeterKind::Estimate
                                                                : MeterKind::Measured,
                             pe.grossJ, pe.netJ, pe.avgPowerW});
        emitEvent(e);
        ++rs.step;
    } else if (ownTraining) {
        mark(rs, u"train"_s);
        if (trainer) {
            stepPlugin = trainerPlugin;
            ctx.model = std::move(model);
            ctx.initialState = initialState;
            inTrain = true;
            const bool trained = trainer->train(ctx, &error);
            inTrain = false;
            if (!trained)
                return canceled() ? QString() : u"train (technique): "_s + error;
            model = std::move(ctx.model);
        } else {
            Trainer t(trainOptions);
            rs.trained = t.train(*model, splits.train, &feedback, &error);
            if (!rs.trained)
                return u"train: "_s + error;
            if (rs.trained->canceled)
                return canceled(), QString();
        }
        mark(rs, QString());
        if (canceled())
            return {};
        if (cacheHash && rs.trained) {
            CachedTraining info;
            info.hash = *cacheHash;
            info.sourceRunId = rs.runId;
            info.sourceKey = entry.configKey + u'#' + QString::number(entry.repetition);
            info.planHash = plan.hash();
            info.epochs = static_cast<int>(rs.trained->epochs.size());
            info.samplesSeen = rs.trained->samplesSeen;
            info.trainSeconds = rs.trained->seconds;
            if (!cache->put(info, *model, initialState, &error))
                log(u"warning"_s, error, rs.runId);
        }
    }

    // 3. prepare: the technique chain
    if (!techniques.empty()) {
        ctx.model = std::move(model);
        ctx.initialState = std::move(initialState);
        for (size_t i = 0; i < techniques.size(); ++i) {
            stepPlugin = variant.chain.at(static_cast<qsizetype>(i)).plugin;
            mark(rs, u"prepare:"_s + stepPlugin);
            if (!techniques[i]->apply(ctx, &error))
                return canceled() ? QString() : u"prepare (%1): %2"_s.arg(stepPlugin, error);
            if (!ctx.model)
                return u"prepare (%1): the technique left no model"_s.arg(stepPlugin);
            if (canceled())
                return {};
        }
        mark(rs, QString());
        model = std::move(ctx.model);
    }

    // 4. evaluate
    EvalOptions evalOptions;
    evalOptions.device = rs.backend.device();
    mark(rs, u"evaluate"_s);
    const std::optional<EvalResult> eval =
        Evaluator(evalOptions).evaluate(*model, splits.test, &feedback, &error);
    const bool evalCanceled = canceled(); // before mark() ends the phase: names it
    mark(rs, QString());
    if (!eval)
        return u"evaluate: "_s + error;
    if (eval->canceled || evalCanceled)
        return {};
    metric(rs, u"evaluate"_s, u"accuracy"_s, eval->top1, u"fraction"_s);
    if (eval->top5)
        metric(rs, u"evaluate"_s, u"top5_accuracy"_s, *eval->top5, u"fraction"_s);
    metric(rs, u"evaluate"_s, u"loss"_s, eval->loss, u"nats"_s);
    metric(rs, u"evaluate"_s, u"ece"_s, eval->ece, u"fraction"_s);
    metric(rs, u"evaluate"_s, u"samples"_s, static_cast<double>(eval->samples), u"samples"_s);

    // 5. inference: the fixed workload, one phase per batch size
    for (const qint64 bs : plan.inference.batchSizes) {
        const QString name = u"inference:b%1"_s.arg(bs);
        rs.phase = name + u" (warm-up)"_s;
        if (plan.inference.warmupBatches > 0) {
            InferenceOptions warm;
            warm.batchSize = bs;
            warm.warmupBatches = static_cast<int>(plan.inference.warmupBatches);
            warm.timedBatches = 1;
            warm.device = rs.backend.device();
            if (!InferenceTimer(warm).run(*model, &splits.test, &feedback, &error))
                return u"%1 warm-up: %2"_s.arg(name, error);
            if (canceled())
                return {};
        }
        InferenceOptions io;
        io.batchSize = bs;
        io.warmupBatches = 0;
        io.timedBatches = static_cast<int>(plan.inference.batches);
        io.device = rs.backend.device();
        mark(rs, name);
        const std::optional<InferenceResult> r =
            InferenceTimer(io).run(*model, &splits.test, &feedback, &error);
        const bool inferenceCanceled = canceled();
        mark(rs, QString());
        if (!r)
            return name + u": "_s + error;
        if (r->canceled || inferenceCanceled)
            return {};
        rs.inference.insert(bs, *r);
    }

    // 6. idle after
    if (plan.measurement.idleAfter > 0) {
        mark(rs, u"idle-after"_s);
        sleepCancellable(plan.measurement.idleAfter);
        canceled();
        mark(rs, QString());
        if (canceled())
            return {};
    }
    rs.sampler.stop();

    // Validity checks over the whole run.
    const RunConditionsProbe::Result c = conditions.finish();
    if (c.loadChecked) {
        metric(rs, QString(), u"background_load_cores"_s, c.backgroundLoadCores, u"cores"_s);
        if (c.backgroundLoadCores > opt.backgroundLoadThresholdCores)
            rs.flags.append(u"background-load"_s);
    } else {
        log(u"warning"_s, u"background load not checked: "_s + c.loadError, rs.runId);
    }
    if (c.throttleReadable) {
        metric(rs, QString(), u"throttle_events"_s, c.throttleEvents, u"events"_s);
        if (c.throttleEvents > 0)
            rs.flags.append(u"throttling"_s);
    }
    if (c.meanFrequencyEndMHz > 0)
        metric(rs, QString(), u"cpu_freq_end_mhz"_s, c.meanFrequencyEndMHz, u"MHz"_s);

    QString metricsError;
    if (const std::optional<ModelMetrics> mm = computeModelMetrics(*model, &metricsError)) {
        metric(rs, QString(), u"params"_s, double(mm->parameters), u"count"_s,
               db::ValueKind::Proxy);
        metric(rs, QString(), u"nonzero_params"_s, double(mm->nonZeroParameters), u"count"_s,
               db::ValueKind::Proxy);
        metric(rs, QString(), u"model_size_bytes"_s, double(mm->sizeBytes), u"bytes"_s,
               db::ValueKind::Proxy);
        if (mm->macsKnown) {
            metric(rs, QString(), u"macs"_s, double(mm->macs), u"MAC/sample"_s,
                   db::ValueKind::Proxy);
            metric(rs, QString(), u"nonzero_macs"_s, double(mm->nonZeroMacs), u"MAC/sample"_s,
                   db::ValueKind::Proxy);
        }
    } else {
        log(u"warning"_s, u"model metrics: "_s + metricsError, rs.runId);
    }
    return {};
}

// --- phases, samples, monitor -------------------------------------------------------------------

void ExperimentRunner::Impl::mark(RunState &rs, const QString &name)
{
    const qsizetype before = rs.sampler.phases().size();
    if (name.isEmpty())
        rs.sampler.endPhase();
    else
        rs.sampler.markPhase(name);
    const double runT = monotonicSeconds() - rs.samplerStartWall;
    const QList<PhaseResult> phases = rs.sampler.phases();
    if (phases.size() > before) {
        const PhaseResult &p = phases.last();
        RunEvent e;
        e.type = RunEventType::Phase;
        e.runId = rs.runId;
        e.phase = p.name;
        e.state = u"end"_s;
        e.runT = p.endS;
        e.durationS = p.durationS;
        const db::PhaseRecord r = phaseRecordFrom(p, rs.liveIdle, domainNames, 0, nullptr);
        for (const db::PhaseEnergyRecord &pe : r.energy)
            e.energy.append({pe.domain,
                             pe.kind == db::ValueKind::Estimate ? MeterKind::Estimate
                                                                : MeterKind::Measured,
                             pe.grossJ, pe.netJ, pe.avgPowerW});
        emitEvent(e);
        const bool part = p.name.startsWith(u"prepare:"_s) || p.name == u"train"_s ||
                          p.name.startsWith(u"train:"_s);
        if (!part || name.isEmpty())
            ++rs.step;
    }
    if (!name.isEmpty()) {
        RunEvent e;
        e.type = RunEventType::Phase;
        e.runId = rs.runId;
        e.phase = name;
        e.state = u"begin"_s;
        e.runT = runT;
        emitEvent(e);
    }
    rs.phase = name;
    drain(rs, true);
}

void ExperimentRunner::Impl::drain(RunState &rs, bool force)
{
    const double now = monotonicSeconds();
    // Only the runner's thread may touch the database connection.
    if (!rs.writer || std::this_thread::get_id() != runnerThread ||
        (!force && now - rs.lastDrain < 1.0))
        return;
    rs.lastDrain = now;
    const QList<SampleRow> rows = rs.stream ? rs.stream->takeRows() : QList<SampleRow>();
    for (const SampleRow &row : rows)
        for (qsizetype c = 0; c < row.joules.size() && c < rs.channels.size(); ++c) {
            const double j = row.joules.at(c);
            QString error;
            if (std::isfinite(j) && !rs.writer->append(rs.channels.at(c), row.timeS, j, &error) &&
                rs.writerError.isEmpty()) {
                rs.writerError = error;
                log(u"warning"_s, u"storing samples: "_s + error, rs.runId);
            }
        }
}

bool ExperimentRunner::Impl::sleepCancellable(double seconds)
{
    const double end = monotonicSeconds() + seconds;
    for (;;) {
        const double left = end - monotonicSeconds();
        if (left <= 0)
            return true;
        if (feedback.isCanceled())
            return false;
        std::this_thread::sleep_for(std::chrono::duration<double>(std::min(left, 0.02)));
    }
}

// --- storing a run ----------------------------------------------------------------------------

void ExperimentRunner::Impl::finish(RunState &rs, db::RunStatus status, QString errorText,
                                    double wallStart)
{
    drain(rs, true); // the stream has stopped and holds every remaining row
    RunMeasurement m;
    m.phases = rs.sampler.phases();
    m.domainNames = domainNames;
    for (const SamplerDomain &d : domains)
        m.maxUpdateIntervalS = std::max(m.maxUpdateIntervalS, d.updateIntervalS);
    m.idleDriftFraction = opt.idleDriftFraction;
    if (rs.reused) {
        m.reusedTrain = rs.reused->phase;
        m.reusedFromRun = rs.reused->info.sourceRunId;
        m.trainSamples = rs.reused->samplesSeen;
    } else if (rs.trained) {
        m.trainSamples = double(rs.trained->samplesSeen);
        m.trainEpochs = static_cast<int>(rs.trained->epochs.size());
        if (!rs.trained->epochs.empty()) {
            m.finalTrainLoss = rs.trained->epochs.back().loss;
            m.finalTrainAccuracy = rs.trained->epochs.back().accuracy;
        }
    }
    for (auto it = rs.inference.constBegin(); it != rs.inference.constEnd(); ++it)
        m.inference.insert(it.key(), {it->batches, it->meanMs, it->p50Ms, it->p95Ms, it->p99Ms,
                                      it->throughput});
    for (const SamplerDomain &d : domains)
        m.estimate = m.estimate || d.info.kind == MeterKind::Estimate;
    m.referenceBlas = machine.blas.isReference() || machine.flags.contains(u"reference-blas"_s);
    for (const auto &meter : meters)
        m.counterWraps += meter->wrapCount();
    m.readErrors = !rs.sampler.errors().isEmpty();
    for (const QString &e : rs.sampler.errors())
        log(u"warning"_s, e, rs.runId);
    m.otherFlags = rs.flags;
    const RunFigures figures = deriveRunFigures(m);
    const QStringList &flags = figures.flags;
    const QList<db::PhaseRecord> &records = figures.phases;
    rs.metrics.append(figures.metrics);
    metric(rs, QString(), u"sampler_rate_hz"_s, rs.sampler.effectiveRate(), u"Hz"_s);
    metric(rs, QString(), u"sampler_cpu_s"_s, rs.sampler.threadCpuSeconds(), u"s"_s);

    // Store everything; a storage failure turns a completed run into a failed one.
    QString storeError;
    for (const db::PhaseRecord &r : records)
        if (!store.addPhase(rs.runId, r, &storeError))
            break;
    for (const db::MetricRecord &m : rs.metrics)
        if (!storeError.isEmpty() ||
            !store.setMetric(rs.runId, m.phase, m.name, m.value, m.unit, m.kind, &storeError))
            break;
    for (const db::TechniqueLogRecord &l : rs.techniqueLogs)
        if (!storeError.isEmpty() ||
            !store.addTechniqueLog(rs.runId, l.plugin, l.message, l.json, &storeError))
            break;
    if (!storeError.isEmpty() && status == db::RunStatus::Completed) {
        status = db::RunStatus::Failed;
        errorText = u"storing the results failed: "_s + storeError;
    }
    QString finishError; // finishRun flushes the run's sample writer in its transaction
    const bool finished = store.finishRun(rs.runId, status, flags, errorText, &finishError);
    rs.writer.reset(); // after a failed finish it drops the samples it could not store (logged)
    if (!storeError.isEmpty() || !finished) {
        storageFailure = finished ? storeError : finishError;
        if (!finished) {
            // The database refused the end of the run (disk full, read-only, locked). Record
            // it as failed if the database still takes that small update; what was stored
            // before stays as it is.
            const QString why = u"storing the run failed: "_s + finishError;
            errorText = errorText.isEmpty() ? why : errorText + u"; "_s + why;
            status = db::RunStatus::Failed;
            QString retryError;
            if (!store.finishRun(rs.runId, status, flags, errorText, &retryError))
                log(u"error"_s, u"run %1 could not be stored as failed either (%2); it stays "
                                "'running' until the next read-write open of %3 marks it "
                                "interrupted"_s
                                    .arg(rs.runId)
                                    .arg(retryError, store.path()),
                    rs.runId);
        }
    }

    const GridEntry &entry = *rs.entry;
    switch (status) {
    case db::RunStatus::Completed: ++outcome.completed; break;
    case db::RunStatus::Cancelled: ++outcome.cancelled; break;
    default:
        ++outcome.failed;
        outcome.failures.append(u"run %1 (%2, %3, repetition %4): %5"_s.arg(rs.runId)
                                    .arg(entry.label, entry.backendId)
                                    .arg(entry.repetition)
                                    .arg(errorText));
        log(u"error"_s, outcome.failures.last() + u"; going on with the next run"_s, rs.runId);
        break;
    }
    RunEvent e;
    e.type = RunEventType::RunFinished;
    e.runId = rs.runId;
    e.status = db::runStatusName(status);
    e.flags = flags;
    e.error = errorText;
    e.durationS = monotonicSeconds() - wallStart;
    emitEvent(e);
}

// --- public -----------------------------------------------------------------------------------

ExperimentRunner::ExperimentRunner(Plan plan, RunnerOptions options)
    : d(std::make_unique<Impl>(std::move(plan), std::move(options)))
{
    if (!d->opt.meters.isEmpty())
        d->plan.measurement.meters = d->opt.meters;
    d->feedback.onLog = [this](const QString &m) {
        d->log(u"info"_s, m, d->current ? d->current->runId : 0);
    };
    d->feedback.onProgress = [this](double fraction, const QString &what) {
        RunState *rs = d->current;
        if (!rs)
            return;
        RunEvent e;
        e.type = RunEventType::Progress;
        e.runId = rs->runId;
        e.phase = rs->phase;
        e.fraction = std::clamp(fraction, 0.0, 1.0);
        e.what = what;
        const double inRun = (rs->step + e.fraction) / std::max(1, rs->steps);
        e.overall = (d->position - 1 + std::min(1.0, inRun)) / std::max(1, d->runsToRun);
        d->emitEvent(e);
        d->drain(*rs, false);
    };
}

ExperimentRunner::~ExperimentRunner() = default;

std::optional<ExperimentOutcome> ExperimentRunner::run(QString *error)
{
    QString local;
    std::optional<ExperimentOutcome> o = d->run(error ? error : &local);
    return o;
}

void ExperimentRunner::cancel()
{
    d->feedback.cancel();
}

bool ExperimentRunner::isCanceled() const
{
    return d->feedback.isCanceled();
}

const Plan &ExperimentRunner::plan() const
{
    return d->plan;
}

} // namespace jb
