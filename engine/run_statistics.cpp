// SPDX-License-Identifier: GPL-3.0-or-later
#include "run_statistics.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>
#include <QSet>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace Qt::StringLiterals;

namespace jb {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

QJsonValue number(double v)
{
    return std::isfinite(v) ? QJsonValue(v) : QJsonValue(QJsonValue::Null);
}

QHash<QString, double> powerOf(const PhaseResult *p, const QStringList &names)
{
    QHash<QString, double> out;
    if (!p || !(p->durationS > 0))
        return out;
    for (qsizetype i = 0; i < p->domains.size() && i < names.size(); ++i) {
        const double j = p->domains.at(i).joules;
        if (std::isfinite(j))
            out.insert(names.at(i), j / p->durationS);
    }
    return out;
}

QJsonValue ciJson(const std::optional<stats::ConfidenceInterval> &ci)
{
    if (!ci)
        return QJsonValue(QJsonValue::Null);
    return QJsonObject{{u"lower"_s, number(ci->lower)},
                       {u"upper"_s, number(ci->upper)},
                       {u"level"_s, ci->level},
                       {u"resamples"_s, ci->resamples}};
}

} // namespace

QString energyFigureId(const QString &phase, const QString &domain)
{
    return u"energy|"_s + phase + u'|' + domain;
}

QString metricFigureId(const QString &phase, const QString &name)
{
    return phase + u'|' + name;
}

// --- one run ------------------------------------------------------------------------------------

IdleBaseline computeIdleBaseline(const PhaseResult *before, const PhaseResult *after,
                                 const QStringList &names, double driftFraction)
{
    IdleBaseline idle;
    idle.beforeS = before ? before->durationS : 0;
    idle.afterS = after ? after->durationS : 0;
    idle.beforeW = powerOf(before, names);
    idle.afterW = powerOf(after, names);
    for (const QString &name : names) {
        const bool hasBefore = idle.beforeW.contains(name);
        const bool hasAfter = idle.afterW.contains(name);
        if (hasBefore && hasAfter) {
            const double b = idle.beforeW.value(name);
            const double a = idle.afterW.value(name);
            idle.powerW.insert(name, (a + b) / 2);
            const double scale = std::max(std::fabs(a), std::fabs(b));
            if (scale > 0 && std::fabs(a - b) > driftFraction * scale)
                idle.drifted.append(name);
        } else if (hasBefore) {
            idle.powerW.insert(name, idle.beforeW.value(name));
        } else if (hasAfter) {
            idle.powerW.insert(name, idle.afterW.value(name));
        }
    }
    idle.available = !idle.powerW.isEmpty();
    return idle;
}

db::PhaseRecord phaseRecordFrom(const PhaseResult &phase, const IdleBaseline &idle,
                                const QStringList &names, int ordinal, QStringList *skipped)
{
    db::PhaseRecord r;
    r.name = phase.name;
    r.ordinal = ordinal;
    r.tStart = phase.startS;
    r.duration = phase.durationS;
    for (qsizetype i = 0; i < phase.domains.size() && i < names.size(); ++i) {
        const DomainEnergy &d = phase.domains.at(i);
        if (!std::isfinite(d.joules)) {
            if (skipped)
                skipped->append(names.at(i));
            continue;
        }
        db::PhaseEnergyRecord e;
        e.domain = names.at(i);
        e.kind = d.kind == MeterKind::Estimate ? db::ValueKind::Estimate : db::ValueKind::Measured;
        e.grossJ = d.joules;
        const auto p = idle.powerW.constFind(e.domain);
        e.netJ = p != idle.powerW.constEnd()
                     ? stats::netEnergyJ(d.joules, p.value(), phase.durationS)
                     : d.joules;
        e.avgPowerW = phase.durationS > 0 ? d.joules / phase.durationS : 0.0;
        r.energy.append(e);
    }
    return r;
}

namespace {

/// Phase i extended over the phases right after it whose names start with `prefix` (the
/// phases are contiguous, so the gross energy is their sum).
PhaseResult spanning(const RunMeasurement &m, qsizetype i, const QString &prefix)
{
    PhaseResult all = m.phases.at(i);
    for (qsizetype j = i + 1; j < m.phases.size() && m.phases.at(j).name.startsWith(prefix); ++j) {
        all.endS = m.phases.at(j).endS;
        for (qsizetype c = 0; c < all.domains.size(); ++c)
            all.domains[c].joules += m.phases.at(j).domains.value(c).joules;
    }
    if (all.endS == m.phases.at(i).endS)
        return all; // nothing to span: the phase as measured
    all.durationS = all.endS - all.startS;
    for (DomainEnergy &d : all.domains) {
        d.averagePowerW = all.durationS > 0 ? d.joules / all.durationS : 0.0;
        d.tooShort = all.durationS < 10 * m.maxUpdateIntervalS;
    }
    return all;
}

} // namespace

RunFigures deriveRunFigures(const RunMeasurement &m)
{
    RunFigures out;
    auto flag = [&](const QString &f) {
        if (!out.flags.contains(f))
            out.flags.append(f);
    };
    auto metric = [&](const QString &phase, const QString &name, double value,
                      const QString &unit, db::ValueKind kind = db::ValueKind::Computed) {
        if (std::isfinite(value))
            out.metrics.append({phase, name, value, unit, kind});
    };
    for (const QString &f : m.otherFlags)
        flag(f);
    const PhaseResult *idleBefore = nullptr;
    const PhaseResult *idleAfter = nullptr;
    for (const PhaseResult &p : m.phases) {
        if (p.name == u"idle"_s && !idleBefore)
            idleBefore = &p;
        else if (p.name == u"idle-after"_s && !idleAfter)
            idleAfter = &p;
    }
    out.idle = computeIdleBaseline(idleBefore, idleAfter, m.domainNames, m.idleDriftFraction);
    if (!m.phases.isEmpty() && !out.idle.available)
        flag(u"no-idle-baseline"_s);
    if (!out.idle.drifted.isEmpty())
        flag(u"idle-drift"_s);

    QStringList skipped;
    int ordinal = 0;
    auto addReused = [&](double tStart) {
        if (!m.reusedTrain)
            return;
        db::PhaseRecord r = *m.reusedTrain;
        r.id = 0;
        r.ordinal = ordinal++;
        r.tStart = tStart; // where training would have run; the interval is the source's
        out.phases.append(r);
        flag(u"train-reused"_s);
        metric(u"train"_s, u"reused_from_run"_s, double(m.reusedFromRun), u"run id"_s);
        metric(u"train"_s, u"samples_seen"_s, m.trainSamples, u"samples"_s);
    };
    if (!idleBefore)
        addReused(m.phases.isEmpty() ? 0.0 : m.phases.first().startS);
    for (qsizetype i = 0; i < m.phases.size(); ++i) {
        const PhaseResult &p = m.phases.at(i);
        const bool part = p.name.startsWith(u"prepare:"_s);
        // Too short for its energy to be trusted (< 10 counter update intervals): a metric on
        // the phase; the run's `short-phase` flag only for the phases compare reports (idle,
        // train, prepare, evaluate, inference), not for a part of train or prepare: a technique
        // that opens its own sub-phase at once leaves an empty "prepare:<plugin>" part behind,
        // and the span that holds it is what is compared.
        const auto checkShort = [&](const PhaseResult &r) {
            bool tooShort = false;
            for (const DomainEnergy &d : r.domains)
                tooShort = tooShort || d.tooShort;
            if (!tooShort || r.name.startsWith(u"idle"_s))
                return;
            metric(r.name, u"short_phase"_s, 1, u"flag"_s);
            if (!r.name.startsWith(u"prepare:"_s) && !r.name.startsWith(u"train:"_s))
                flag(u"short-phase"_s);
        };
        if (part && (i == 0 || !m.phases.at(i - 1).name.startsWith(u"prepare:"_s))) {
            PhaseResult all = spanning(m, i, u"prepare:"_s);
            all.name = u"prepare"_s;
            out.phases.append(phaseRecordFrom(all, out.idle, m.domainNames, ordinal++, &skipped));
            checkShort(all);
        }
        // A technique that trains (data selection) may split `train` into "train:<part>"
        // phases (scoring, fitting): the `train` record then spans them, the parts are kept.
        const PhaseResult record = p.name == u"train"_s ? spanning(m, i, u"train:"_s) : p;
        out.phases.append(phaseRecordFrom(record, out.idle, m.domainNames, ordinal++, &skipped));
        checkShort(record);
        if (&p == idleBefore)
            addReused(p.endS);
    }
    if (!skipped.isEmpty() || m.readErrors)
        flag(u"read-error"_s);
    if (m.estimate)
        flag(u"estimate"_s);
    if (m.referenceBlas)
        flag(u"reference-blas"_s);
    if (m.counterWraps > 0)
        flag(u"counter-wrap"_s);
    if (!m.reusedTrain && m.trainEpochs > 0) {
        metric(u"train"_s, u"samples_seen"_s, m.trainSamples, u"samples"_s);
        metric(u"train"_s, u"epochs"_s, m.trainEpochs, u"epochs"_s);
        metric(u"train"_s, u"final_train_loss"_s, m.finalTrainLoss, u"nats"_s);
        metric(u"train"_s, u"final_train_accuracy"_s, m.finalTrainAccuracy, u"fraction"_s);
    }

    static const QRegularExpression inference(u"^inference:b(\\d+)$"_s);
    for (const db::PhaseRecord &r : out.phases) {
        const QRegularExpressionMatch im = inference.match(r.name);
        for (const db::PhaseEnergyRecord &e : r.energy) {
            const QString d = u"/"_s + e.domain;
            if (r.name == u"idle"_s) {
                metric(r.name, u"idle_power_w"_s + d,
                       out.idle.powerW.value(e.domain, e.avgPowerW), u"W"_s, e.kind);
                continue;
            }
            if (r.name.startsWith(u"idle"_s) || r.name.startsWith(u"prepare:"_s) ||
                r.name.startsWith(u"train:"_s))
                continue;
            metric(r.name, u"edp_js"_s + d, energyDelayProduct(e.netJ, r.duration), u"J*s"_s,
                   e.kind);
            if (r.name == u"train"_s && m.trainSamples > 0)
                metric(r.name, u"energy_per_training_sample_j"_s + d, e.netJ / m.trainSamples,
                       u"J/sample"_s, e.kind);
            if (!im.hasMatch())
                continue;
            const qint64 bs = im.captured(1).toLongLong();
            const auto it = m.inference.constFind(bs);
            if (it == m.inference.constEnd() || it->batches <= 0)
                continue;
            metric(r.name, u"energy_per_inference_j"_s + d,
                   e.netJ / (double(it->batches) * double(bs)), u"J/sample"_s, e.kind);
            metric(r.name, u"edp_per_batch_js"_s + d, e.netJ / it->batches * it->meanMs / 1000.0,
                   u"J*s"_s, e.kind);
        }
    }
    for (auto it = m.inference.constBegin(); it != m.inference.constEnd(); ++it) {
        const QString p = u"inference:b%1"_s.arg(it.key());
        metric(p, u"batch_size"_s, double(it.key()), u"samples"_s);
        metric(p, u"batches"_s, it->batches, u"batches"_s);
        metric(p, u"latency_mean_ms"_s, it->meanMs, u"ms"_s);
        metric(p, u"latency_p50_ms"_s, it->p50Ms, u"ms"_s);
        metric(p, u"latency_p95_ms"_s, it->p95Ms, u"ms"_s);
        metric(p, u"latency_p99_ms"_s, it->p99Ms, u"ms"_s);
        metric(p, u"throughput_sps"_s, it->throughput, u"samples/s"_s);
    }
    return out;
}

// --- across repetitions -------------------------------------------------------------------------

FigureStats summarizeValues(const QList<double> &values, int resamples)
{
    FigureStats s;
    for (double v : values)
        if (std::isfinite(v))
            s.values.append(v);
    s.n = static_cast<int>(s.values.size());
    s.mean = s.n > 0 ? stats::mean(s.values) : kNaN;
    s.sd = s.n > 1 ? stats::standardDeviation(s.values) : kNaN;
    if (s.n >= 2) {
        QString error;
        s.ci = stats::bootstrapMeanCi(stats::view(s.values), &error, stats::kDefaultSeed,
                                      resamples);
    }
    return s;
}

PairedDelta pairedDelta(const QMap<int, double> &baseline, const QMap<int, double> &variant,
                        int resamples)
{
    PairedDelta d;
    QList<double> b, v;
    for (auto it = variant.constBegin(); it != variant.constEnd(); ++it) {
        const auto bi = baseline.constFind(it.key());
        if (bi == baseline.constEnd() || !std::isfinite(bi.value()) || !std::isfinite(it.value()))
            continue;
        b.append(bi.value());
        v.append(it.value());
    }
    d.pairs = static_cast<int>(b.size());
    if (d.pairs == 0) {
        d.mean = kNaN;
        d.ratio = kNaN;
        return d;
    }
    double sum = 0;
    for (qsizetype i = 0; i < b.size(); ++i)
        sum += v.at(i) - b.at(i);
    d.mean = sum / d.pairs;
    // A ratio says something only for quantities of one sign (energy can be net-negative).
    const double mb = stats::mean(b);
    const double mv = stats::mean(v);
    d.ratio = mb > 0 && mv >= 0 ? mv / mb : kNaN;
    if (d.pairs >= 2) {
        QString error;
        d.ci = stats::pairedDifferenceCi(stats::view(b), stats::view(v), &error,
                                         stats::kDefaultSeed, resamples);
    }
    return d;
}

const ComparedFigure *VariantSummary::figure(const QString &id) const
{
    for (const ComparedFigure &f : figures)
        if (f.id == id)
            return &f;
    return nullptr;
}

std::optional<ComparisonSummary> summarizeComparison(const db::ExperimentComparison &cmp,
                                                     QString *error, int resamples)
{
    if (cmp.runs.isEmpty()) {
        if (error)
            *error = u"experiment %1 ('%2') has no runs yet; run it with joulebench-cli run"_s
                         .arg(cmp.experiment.id)
                         .arg(cmp.experiment.name);
        return std::nullopt;
    }
    ComparisonSummary s;
    s.experiment = cmp.experiment;
    s.resamples = resamples;
    const QJsonObject plan = QJsonDocument::fromJson(cmp.experiment.planJson).object();
    s.accuracyBudget = plan.value(u"accuracyBudget"_s).toDouble(1.0);

    static const QRegularExpression inferencePhase(u"^inference:b(\\d+)$"_s);
    auto comparedPhase = [](const QString &name) {
        return name == u"train"_s || name == u"prepare"_s || name == u"evaluate"_s ||
               inferencePhase.match(name).hasMatch();
    };

    // Figure metadata by id (first seen wins), values per group.
    struct Meta
    {
        QString phase, domain, name, unit;
        db::ValueKind kind;
    };
    QMap<QString, Meta> meta;
    QStringList idOrder;
    struct Group
    {
        VariantSummary summary;
        QMap<QString, QMap<int, double>> byRep;
        // train figures: distinct training sources -> value
        QMap<QString, QMap<QString, double>> bySource;
        QSet<QString> shared;
    };
    QList<Group> groups;
    QStringList backendOrder;
    QSet<QString> domainSeen;
    QSet<qint64> batchSizes;

    auto note = [&](const QString &id, const Meta &m) {
        if (!meta.contains(id)) {
            meta.insert(id, m);
            idOrder.append(id);
        }
    };

    for (const db::RunComparison &rc : cmp.runs) {
        const db::RunRecord &run = rc.run;
        const QJsonObject config = QJsonDocument::fromJson(run.configJson).object();
        qsizetype gi = -1;
        for (qsizetype i = 0; i < groups.size(); ++i)
            if (groups.at(i).summary.configKey == run.key.configKey)
                gi = i;
        if (gi < 0) {
            Group g;
            g.summary.label = run.key.variant;
            g.summary.backend = run.key.backend;
            g.summary.configKey = run.key.configKey;
            g.summary.chainJson = run.key.chainJson;
            g.summary.baselineKey = config.value(u"baselineKey"_s).toString();
            const QJsonDocument chain = QJsonDocument::fromJson(run.key.chainJson);
            g.summary.baseline = chain.isArray() && chain.array().isEmpty();
            groups.append(g);
            gi = groups.size() - 1;
            if (!backendOrder.contains(run.key.backend))
                backendOrder.append(run.key.backend);
        }
        Group &g = groups[gi];
        ++g.summary.runs;
        g.summary.runIds.append(run.id);
        switch (run.status) {
        case db::RunStatus::Completed: ++g.summary.completed; break;
        case db::RunStatus::Failed: ++g.summary.failed; continue;
        case db::RunStatus::Cancelled: ++g.summary.cancelled; continue;
        case db::RunStatus::Interrupted: ++g.summary.interrupted; continue;
        case db::RunStatus::Running: ++g.summary.running; continue;
        }
        for (const QString &f : run.flags)
            g.summary.flagCounts[f] += 1;

        const int rep = run.key.repetition;
        const QJsonObject trainCache = config.value(u"trainCache"_s).toObject();
        const bool reused = trainCache.value(u"reused"_s).toBool();
        const QString source = reused ? trainCache.value(u"sourceKey"_s).toString()
                                      : run.key.configKey + u'#' + QString::number(rep);
        auto add = [&](const QString &id, const Meta &m, double v) {
            note(id, m);
            g.byRep[id].insert(rep, v);
            if (m.phase == u"train"_s) {
                g.bySource[id].insert(source, v);
                if (reused)
                    g.shared.insert(id);
            }
        };

        for (const db::PhaseRecord &p : rc.phases) {
            if (!comparedPhase(p.name))
                continue;
            const QRegularExpressionMatch m = inferencePhase.match(p.name);
            if (m.hasMatch())
                batchSizes.insert(m.captured(1).toLongLong());
            for (const db::PhaseEnergyRecord &e : p.energy)
                add(energyFigureId(p.name, e.domain),
                    {p.name, e.domain, u"net_energy_j"_s, u"J"_s, e.kind}, e.netJ);
        }
        if (g.summary.baseline) {
            // The baseline applies no technique: its prepare cost is exactly zero.
            for (const db::RunEnergyRecord &t : rc.totals)
                add(energyFigureId(u"prepare"_s, t.domain),
                    {u"prepare"_s, t.domain, u"net_energy_j"_s, u"J"_s, t.kind}, 0.0);
        }
        for (const db::RunEnergyRecord &t : rc.totals) {
            if (!domainSeen.contains(t.domain)) {
                domainSeen.insert(t.domain);
                s.domains.append({0, t.domain, t.kind, t.meterId});
            }
        }
        for (const db::MetricRecord &mr : rc.metrics) {
            if (!mr.phase.isEmpty() && mr.phase != u"idle"_s && !comparedPhase(mr.phase))
                continue;
            double v = mr.value;
            QString unit = mr.unit;
            const qsizetype slash = mr.name.indexOf(u'/');
            const QString domain = slash >= 0 ? mr.name.mid(slash + 1) : QString();
            if (mr.phase == u"evaluate"_s &&
                (mr.name == u"accuracy"_s || mr.name == u"top5_accuracy"_s)) {
                v *= 100.0; // stored as a fraction, compared in points
                unit = u"%"_s;
            }
            add(metricFigureId(mr.phase, mr.name), {mr.phase, domain, mr.name, unit, mr.kind}, v);
        }
    }

    // Order: per backend, the baseline first, then the variants in order of appearance.
    QList<Group> ordered;
    for (const QString &b : backendOrder) {
        for (const Group &g : groups)
            if (g.summary.backend == b && g.summary.baseline)
                ordered.append(g);
        for (const Group &g : groups)
            if (g.summary.backend == b && !g.summary.baseline)
                ordered.append(g);
    }

    auto baselineOf = [&](const Group &g) -> const Group * {
        for (const Group &o : ordered)
            if (!g.summary.baselineKey.isEmpty() && o.summary.configKey == g.summary.baselineKey)
                return &o;
        for (const Group &o : ordered)
            if (o.summary.baseline && o.summary.backend == g.summary.backend)
                return &o;
        return nullptr;
    };

    const QString accuracyId = metricFigureId(u"evaluate"_s, u"accuracy"_s);
    bool anyShared = false;
    for (Group &g : ordered) {
        const Group *base = g.summary.baseline ? nullptr : baselineOf(g);
        for (const QString &id : idOrder) {
            if (!g.byRep.contains(id))
                continue;
            const Meta &m = meta.value(id);
            ComparedFigure f;
            f.id = id;
            f.phase = m.phase;
            f.domain = m.domain;
            f.name = m.name;
            f.unit = m.unit;
            f.kind = m.kind;
            f.byRepetition = g.byRep.value(id);
            if (m.phase == u"train"_s) {
                f.sharedTraining = g.shared.contains(id);
                anyShared = anyShared || f.sharedTraining;
                f.stats = summarizeValues(g.bySource.value(id).values(), resamples);
            } else {
                f.stats = summarizeValues(f.byRepetition.values(), resamples);
            }
            if (base && base->byRep.contains(id))
                f.delta = pairedDelta(base->byRep.value(id), f.byRepetition, resamples);
            g.summary.figures.append(f);
        }
        if (g.summary.baseline) {
            g.summary.budgetKnown = true;
            g.summary.withinBudget = true;
        } else {
            const ComparedFigure *acc = g.summary.figure(accuracyId);
            g.summary.budgetKnown = acc && acc->delta && acc->delta->pairs > 0 &&
                                    std::isfinite(acc->delta->mean);
            g.summary.withinBudget =
                g.summary.budgetKnown && -acc->delta->mean <= s.accuracyBudget + 1e-12;
        }
        s.variants.append(g.summary);
    }
    QList<qint64> sizes(batchSizes.begin(), batchSizes.end());
    std::sort(sizes.begin(), sizes.end());
    s.batchSizes = sizes;

    if (anyShared)
        s.notes.append(u"train: runs reused a cached baseline training (flag train-reused); "
                       "their train figures are the figures of the run that trained it, and "
                       "the statistics count each training once."_s);
    bool fewReps = false;
    for (const VariantSummary &v : s.variants)
        fewReps = fewReps || v.completed < 3;
    if (fewReps)
        s.notes.append(u"fewer than 3 completed repetitions for some variant: confidence "
                       "intervals are wide or missing (n = 1)."_s);
    for (const db::RunDomain &d : s.domains)
        if (d.kind == db::ValueKind::Estimate)
            s.notes.append(u"domain %1 (%2) is an ESTIMATE, not a measurement; it is never "
                           "added to measured domains."_s.arg(d.name, d.meterId));
    return s;
}

QJsonObject comparisonToJson(const ComparisonSummary &s)
{
    QJsonArray domains;
    for (const db::RunDomain &d : s.domains)
        domains.append(QJsonObject{{u"name"_s, d.name},
                                   {u"kind"_s, db::valueKindName(d.kind)},
                                   {u"meter"_s, d.meterId}});
    QJsonArray variants;
    for (const VariantSummary &v : s.variants) {
        QJsonArray figures;
        for (const ComparedFigure &f : v.figures) {
            QJsonObject reps;
            for (auto it = f.byRepetition.constBegin(); it != f.byRepetition.constEnd(); ++it)
                reps.insert(QString::number(it.key()), number(it.value()));
            QJsonObject o{{u"id"_s, f.id},
                          {u"phase"_s, f.phase},
                          {u"domain"_s, f.domain},
                          {u"name"_s, f.name},
                          {u"unit"_s, f.unit},
                          {u"kind"_s, db::valueKindName(f.kind)},
                          {u"n"_s, f.stats.n},
                          {u"mean"_s, number(f.stats.mean)},
                          {u"sd"_s, number(f.stats.sd)},
                          {u"ci95"_s, ciJson(f.stats.ci)},
                          {u"byRepetition"_s, reps},
                          {u"sharedTraining"_s, f.sharedTraining}};
            if (f.delta)
                o.insert(u"deltaVsBaseline"_s,
                         QJsonObject{{u"pairs"_s, f.delta->pairs},
                                     {u"mean"_s, number(f.delta->mean)},
                                     {u"ratio"_s, number(f.delta->ratio)},
                                     {u"ci95"_s, ciJson(f.delta->ci)}});
            figures.append(o);
        }
        QJsonObject flags;
        for (auto it = v.flagCounts.constBegin(); it != v.flagCounts.constEnd(); ++it)
            flags.insert(it.key(), it.value());
        QJsonArray runIds;
        for (qint64 id : v.runIds)
            runIds.append(id);
        variants.append(QJsonObject{
            {u"label"_s, v.label},
            {u"backend"_s, v.backend},
            {u"configKey"_s, v.configKey},
            {u"baselineKey"_s, v.baselineKey},
            {u"baseline"_s, v.baseline},
            {u"chain"_s, QJsonDocument::fromJson(v.chainJson).array()},
            {u"runs"_s, QJsonObject{{u"total"_s, v.runs},
                                    {u"completed"_s, v.completed},
                                    {u"failed"_s, v.failed},
                                    {u"cancelled"_s, v.cancelled},
                                    {u"interrupted"_s, v.interrupted},
                                    {u"running"_s, v.running}}},
            {u"runIds"_s, runIds},
            {u"flags"_s, flags},
            {u"withinAccuracyBudget"_s,
             v.budgetKnown ? QJsonValue(v.withinBudget) : QJsonValue(QJsonValue::Null)},
            {u"figures"_s, figures}});
    }
    QJsonArray sizes;
    for (qint64 b : s.batchSizes)
        sizes.append(b);
    return QJsonObject{{u"experiment"_s, QJsonObject{{u"id"_s, s.experiment.id},
                                                     {u"name"_s, s.experiment.name},
                                                     {u"planHash"_s, s.experiment.planHash},
                                                     {u"created"_s, s.experiment.created}}},
                       {u"accuracyBudgetPoints"_s, s.accuracyBudget},
                       {u"domains"_s, domains},
                       {u"batchSizes"_s, sizes},
                       {u"variants"_s, variants},
                       {u"notes"_s, QJsonArray::fromStringList(s.notes)},
                       {u"bootstrapResamples"_s, s.resamples}};
}

} // namespace jb
