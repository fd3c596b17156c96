// SPDX-License-Identifier: GPL-3.0-or-later
// The experiment: set-up, the grid of runs, one run's preparation, storing a run, the public
// API. The measured phases of a run are in run_phases.cpp.
#include "runner_impl.h"

using namespace Qt::StringLiterals;

namespace jb {

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
