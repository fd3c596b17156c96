// SPDX-License-Identifier: GPL-3.0-or-later
// The measured phases of one run (idle, train, prepare, evaluate, inference, idle-after), the
// phase marks and sample draining, and TechniqueContext::measureEnergy's arithmetic.
#include "runner_impl.h"

using namespace Qt::StringLiterals;

namespace jb {

namespace detail {

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

} // namespace detail

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

} // namespace jb
