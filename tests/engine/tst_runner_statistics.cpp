// SPDX-License-Identifier: GPL-3.0-or-later
// The runner's arithmetic on hand-made numbers: idle baseline and net energy, the prepare
// aggregate, a reused train phase, derived figures and flags of one run; and the aggregation
// across repetitions that `compare` prints (means, CIs, paired deltas, training counted once,
// the accuracy budget).
#include "engine/run_statistics.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QtTest>

#include <cmath>

using namespace Qt::StringLiterals;
using namespace jb;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A sampled phase with one joule figure per domain (package-0 measured, cpu estimate).
PhaseResult phase(const QString &name, double start, double duration, QList<double> joules,
                  double updateInterval = 0.001)
{
    PhaseResult p;
    p.name = name;
    p.startS = start;
    p.endS = start + duration;
    p.durationS = duration;
    const QStringList names{u"package-0"_s, u"cpu"_s};
    for (qsizetype i = 0; i < joules.size(); ++i) {
        DomainEnergy d;
        d.meterId = i == 0 ? u"rapl-powercap"_s : u"estimate"_s;
        d.domain = names.at(i);
        d.kind = i == 0 ? MeterKind::Measured : MeterKind::Estimate;
        d.joules = joules.at(i);
        d.averagePowerW = joules.at(i) / duration;
        d.tooShort = duration < 10 * updateInterval;
        p.domains.append(d);
    }
    return p;
}

const QStringList kNames{u"package-0"_s, u"cpu"_s};

const db::PhaseEnergyRecord *energyOf(const db::PhaseRecord &r, const QString &domain)
{
    for (const db::PhaseEnergyRecord &e : r.energy)
        if (e.domain == domain)
            return &e;
    return nullptr;
}

const db::PhaseRecord *phaseNamed(const RunFigures &f, const QString &name)
{
    for (const db::PhaseRecord &r : f.phases)
        if (r.name == name)
            return &r;
    return nullptr;
}

std::optional<double> metricValue(const RunFigures &f, const QString &phase, const QString &name)
{
    for (const db::MetricRecord &m : f.metrics)
        if (m.phase == phase && m.name == name)
            return m.value;
    return std::nullopt;
}

// One run of a synthetic experiment.
db::RunComparison run(qint64 id, const QString &label, const QString &configKey, int rep,
                      double accuracy, double trainNet, double inferenceNet, bool reused = false,
                      db::RunStatus status = db::RunStatus::Completed)
{
    db::RunComparison rc;
    rc.run.id = id;
    rc.run.key.variant = label;
    rc.run.key.backend = u"cpu"_s;
    rc.run.key.repetition = rep;
    rc.run.key.configKey = configKey;
    const bool baseline = label == u"baseline"_s;
    rc.run.key.chainJson = baseline ? "[]" : R"([{"plugin":"x.y","params":{}}])";
    rc.run.status = status;
    rc.run.flags = {u"short-phase"_s};
    QJsonObject cache{{u"reused"_s, reused}};
    if (reused)
        cache.insert(u"sourceKey"_s, u"base#0"_s);
    rc.run.configJson = QJsonDocument(QJsonObject{{u"baselineKey"_s, u"base"_s},
                                                  {u"trainCache"_s, cache}})
                            .toJson(QJsonDocument::Compact);
    rc.phases.append({0, u"idle"_s, 0, 0, 1, {{u"package-0"_s, 10, 0, db::ValueKind::Measured, 10}}});
    rc.phases.append({0, u"train"_s, 1, 1, 5,
                      {{u"package-0"_s, trainNet + 50, trainNet, db::ValueKind::Measured, 20}}});
    if (!baseline)
        rc.phases.append({0, u"prepare"_s, 2, 6, 1,
                          {{u"package-0"_s, 15, 5, db::ValueKind::Measured, 15}}});
    rc.phases.append({0, u"inference:b8"_s, 3, 7, 1,
                      {{u"package-0"_s, inferenceNet + 10, inferenceNet, db::ValueKind::Measured,
                        30}}});
    rc.metrics.append({u"evaluate"_s, u"accuracy"_s, accuracy, u"fraction"_s,
                       db::ValueKind::Computed});
    rc.metrics.append({u"inference:b8"_s, u"energy_per_inference_j/package-0"_s,
                       inferenceNet / 80, u"J/sample"_s, db::ValueKind::Measured});
    rc.metrics.append({QString(), u"params"_s, baseline ? 1000.0 : 500.0, u"count"_s,
                       db::ValueKind::Proxy});
    db::RunEnergyRecord total;
    total.domain = u"package-0"_s;
    total.meterId = u"rapl-powercap"_s;
    rc.totals.append(total);
    return rc;
}

} // namespace

class TestRunnerStatistics : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void netEnergySubtractsIdlePowerTimesDuration()
    {
        const PhaseResult idle = phase(u"idle"_s, 0, 2.0, {20.0, 4.0}); // 10 W, 2 W
        const PhaseResult train = phase(u"train"_s, 2.0, 3.0, {90.0, 30.0});
        const IdleBaseline b = computeIdleBaseline(&idle, nullptr, kNames);
        QVERIFY(b.available);
        QCOMPARE(b.powerW.value(u"package-0"_s), 10.0);
        QCOMPARE(b.powerW.value(u"cpu"_s), 2.0);
        QStringList skipped;
        const db::PhaseRecord r = phaseRecordFrom(train, b, kNames, 4, &skipped);
        QCOMPARE(r.ordinal, 4);
        QCOMPARE(r.duration, 3.0);
        QCOMPARE(r.energy.size(), 2);
        QCOMPARE(r.energy.at(0).grossJ, 90.0);
        QCOMPARE(r.energy.at(0).netJ, 90.0 - 10.0 * 3.0);
        QCOMPARE(r.energy.at(0).avgPowerW, 30.0);
        QCOMPARE(r.energy.at(0).kind, db::ValueKind::Measured);
        // The estimate domain keeps its kind and uses its own idle power.
        QCOMPARE(r.energy.at(1).kind, db::ValueKind::Estimate);
        QCOMPARE(r.energy.at(1).netJ, 30.0 - 2.0 * 3.0);
        QVERIFY(skipped.isEmpty());
    }

    void failedReadsAreLeftOutNotZero()
    {
        const PhaseResult idle = phase(u"idle"_s, 0, 1.0, {10.0, kNaN});
        const IdleBaseline b = computeIdleBaseline(&idle, nullptr, kNames);
        QVERIFY(!b.powerW.contains(u"cpu"_s));
        QStringList skipped;
        const db::PhaseRecord r =
            phaseRecordFrom(phase(u"evaluate"_s, 1, 1, {kNaN, 3.0}), b, kNames, 0, &skipped);
        QCOMPARE(skipped, QStringList{u"package-0"_s});
        QCOMPARE(r.energy.size(), 1);
        QCOMPARE(r.energy.at(0).domain, u"cpu"_s);
        QCOMPARE(r.energy.at(0).netJ, 3.0); // no idle power for cpu: net = gross (flagged)
    }

    void idleBeforeAndAfterAreAveragedAndDriftIsFlagged()
    {
        const PhaseResult before = phase(u"idle"_s, 0, 2.0, {20.0, 2.0});      // 10 W, 1 W
        const PhaseResult after = phase(u"idle-after"_s, 9, 1.0, {12.0, 1.02}); // 12 W, 1.02 W
        const IdleBaseline b = computeIdleBaseline(&before, &after, kNames, 0.10);
        QCOMPARE(b.powerW.value(u"package-0"_s), 11.0);
        QCOMPARE(b.drifted, QStringList{u"package-0"_s}); // 2/12 = 17 % > 10 %; cpu 2 % is not
    }

    void runFiguresAggregatePrepareAndDeriveFigures()
    {
        RunMeasurement m;
        m.domainNames = kNames;
        m.maxUpdateIntervalS = 0.001;
        m.phases = {phase(u"idle"_s, 0, 1.0, {10.0, 1.0}),
                    phase(u"train"_s, 1.0, 4.0, {100.0, 8.0}),
                    phase(u"prepare:x.a"_s, 5.0, 1.0, {20.0, 2.0}),
                    phase(u"prepare:score"_s, 6.0, 0.5, {15.0, 1.0}),
                    phase(u"prepare:x.b"_s, 6.5, 0.5, {5.0, 1.0}),
                    phase(u"evaluate"_s, 7.0, 0.005, {0.2, 0.0}),
                    phase(u"inference:b4"_s, 7.005, 2.0, {60.0, 6.0})};
        m.trainSamples = 1000;
        m.inference.insert(4, {50, 40.0, 39.0, 45.0, 48.0, 100.0});
        const RunFigures f = deriveRunFigures(m);

        QStringList names;
        QList<int> ordinals;
        for (const db::PhaseRecord &r : f.phases) {
            names.append(r.name);
            ordinals.append(r.ordinal);
        }
        QCOMPARE(names, (QStringList{u"idle"_s, u"train"_s, u"prepare"_s, u"prepare:x.a"_s,
                                     u"prepare:score"_s, u"prepare:x.b"_s, u"evaluate"_s,
                                     u"inference:b4"_s}));
        QCOMPARE(ordinals, (QList<int>{0, 1, 2, 3, 4, 5, 6, 7}));

        const db::PhaseRecord *prepare = phaseNamed(f, u"prepare"_s);
        QVERIFY(prepare);
        QCOMPARE(prepare->tStart, 5.0);
        QCOMPARE(prepare->duration, 2.0);
        QCOMPARE(energyOf(*prepare, u"package-0"_s)->grossJ, 40.0);
        QCOMPARE(energyOf(*prepare, u"package-0"_s)->netJ, 40.0 - 10.0 * 2.0);

        const db::PhaseEnergyRecord *inf = energyOf(*phaseNamed(f, u"inference:b4"_s),
                                                    u"package-0"_s);
        QCOMPARE(inf->netJ, 60.0 - 10.0 * 2.0);
        QCOMPARE(*metricValue(f, u"inference:b4"_s, u"energy_per_inference_j/package-0"_s),
                 40.0 / (50 * 4));
        QCOMPARE(*metricValue(f, u"inference:b4"_s, u"edp_js/package-0"_s), 40.0 * 2.0);
        QCOMPARE(*metricValue(f, u"inference:b4"_s, u"edp_per_batch_js/package-0"_s),
                 40.0 / 50 * 0.040);
        QCOMPARE(*metricValue(f, u"inference:b4"_s, u"latency_p50_ms"_s), 39.0);
        QCOMPARE(*metricValue(f, u"train"_s, u"energy_per_training_sample_j/package-0"_s),
                 (100.0 - 40.0) / 1000);
        QCOMPARE(*metricValue(f, u"train"_s, u"energy_per_training_sample_j/cpu"_s),
                 (8.0 - 4.0) / 1000);
        QCOMPARE(*metricValue(f, u"idle"_s, u"idle_power_w/package-0"_s), 10.0);
        // Estimate figures stay estimates.
        for (const db::MetricRecord &mr : f.metrics)
            if (mr.name.endsWith(u"/cpu"_s))
                QCOMPARE(mr.kind, db::ValueKind::Estimate);
        // evaluate (5 ms < 10 x 1 ms) is short; the idle and inference phases are not.
        QCOMPARE(f.flags, QStringList{u"short-phase"_s});
        QVERIFY(metricValue(f, u"evaluate"_s, u"short_phase"_s));
        QVERIFY(!metricValue(f, u"inference:b4"_s, u"short_phase"_s));
    }

    void anEmptyPartBeforeATechniquesOwnSubPhaseIsNotAShortRun()
    {
        // The runner opens "prepare:<plugin>"; a technique that starts its own sub-phase at once
        // leaves a part of microseconds. The prepare span is long: no run flag, the part keeps
        // its metric. A short span is still flagged.
        RunMeasurement m;
        m.domainNames = kNames;
        m.maxUpdateIntervalS = 0.001;
        m.phases = {phase(u"idle"_s, 0, 1.0, {10.0, 1.0}),
                    phase(u"train"_s, 1.0, 2.0, {50.0, 4.0}),
                    phase(u"train:score"_s, 3.0, 0.0001, {0.0, 0.0}),
                    phase(u"prepare:nas.random"_s, 3.0001, 0.00002, {0.0, 0.0}),
                    phase(u"prepare:search"_s, 3.00012, 1.0, {25.0, 2.0}),
                    phase(u"evaluate"_s, 4.0, 1.0, {20.0, 2.0})};
        RunFigures f = deriveRunFigures(m);
        QVERIFY2(f.flags.isEmpty(), qPrintable(f.flags.join(u", "_s)));
        QVERIFY(metricValue(f, u"prepare:nas.random"_s, u"short_phase"_s));
        QVERIFY(metricValue(f, u"train:score"_s, u"short_phase"_s));
        QVERIFY(!metricValue(f, u"prepare"_s, u"short_phase"_s));

        m.phases[4] = phase(u"prepare:search"_s, 3.00012, 0.005, {0.1, 0.0});
        f = deriveRunFigures(m);
        QCOMPARE(f.flags, QStringList{u"short-phase"_s});
        QVERIFY(metricValue(f, u"prepare"_s, u"short_phase"_s));
    }

    void reusedTrainIsRecordedWithTheSourceFiguresAndFlagged()
    {
        RunMeasurement m;
        m.domainNames = kNames;
        m.phases = {phase(u"idle"_s, 0, 1.0, {10.0, 1.0}),
                    phase(u"evaluate"_s, 1.0, 1.0, {20.0, 2.0})};
        db::PhaseRecord source;
        source.name = u"train"_s;
        source.tStart = 0.2;
        source.duration = 12.5;
        source.energy = {{u"package-0"_s, 300.0, 180.0, db::ValueKind::Measured, 24.0}};
        m.reusedTrain = source;
        m.reusedFromRun = 17;
        m.trainSamples = 2000;
        const RunFigures f = deriveRunFigures(m);
        QCOMPARE(f.phases.size(), 3);
        QCOMPARE(f.phases.at(1).name, u"train"_s);
        QCOMPARE(f.phases.at(1).ordinal, 1);
        QCOMPARE(f.phases.at(1).tStart, 1.0); // where training would have run
        QCOMPARE(f.phases.at(1).duration, 12.5);
        QCOMPARE(f.phases.at(1).energy.at(0).grossJ, 300.0); // the source's figures, not zero
        QCOMPARE(f.phases.at(1).energy.at(0).netJ, 180.0);
        QVERIFY(f.flags.contains(u"train-reused"_s));
        QCOMPARE(*metricValue(f, u"train"_s, u"reused_from_run"_s), 17.0);
        QCOMPARE(*metricValue(f, u"train"_s, u"energy_per_training_sample_j/package-0"_s),
                 180.0 / 2000);
    }

    void withoutIdleNetEqualsGrossAndIsFlagged()
    {
        RunMeasurement m;
        m.domainNames = kNames;
        m.phases = {phase(u"evaluate"_s, 0, 1.0, {20.0, 2.0})};
        const RunFigures f = deriveRunFigures(m);
        QVERIFY(f.flags.contains(u"no-idle-baseline"_s));
        QCOMPARE(f.phases.at(0).energy.at(0).netJ, 20.0);
    }

    void meanSdAndBootstrapCi()
    {
        const FigureStats s = summarizeValues({1.0, 2.0, 3.0, 4.0, kNaN});
        QCOMPARE(s.n, 4);
        QCOMPARE(s.mean, 2.5);
        QVERIFY(std::fabs(s.sd - std::sqrt(5.0 / 3.0)) < 1e-12);
        QVERIFY(s.ci);
        QVERIFY(s.ci->lower <= s.mean && s.mean <= s.ci->upper);
        QVERIFY(s.ci->lower >= 1.0 && s.ci->upper <= 4.0);
        QVERIFY(s.ci->upper - s.ci->lower > 0.5); // four values: a wide interval
        const FigureStats one = summarizeValues({7.0});
        QCOMPARE(one.mean, 7.0);
        QVERIFY(std::isnan(one.sd));
        QVERIFY(!one.ci);
    }

    void pairedDeltaUsesRepetitionsPresentInBoth()
    {
        const QMap<int, double> base{{0, 10.0}, {1, 12.0}, {2, 11.0}};
        const QMap<int, double> variant{{0, 8.0}, {1, 9.0}, {2, 9.0}, {3, 100.0}};
        const PairedDelta d = pairedDelta(base, variant);
        QCOMPARE(d.pairs, 3);
        QVERIFY(std::fabs(d.mean - (-7.0 / 3.0)) < 1e-12);
        QVERIFY(std::fabs(d.ratio - 26.0 / 33.0) < 1e-12);
        QVERIFY(d.ci);
        QVERIFY(d.ci->lower <= d.mean && d.mean <= d.ci->upper);
        QVERIFY(d.ci->upper < 0); // every pair is lower
    }

    void comparisonAggregatesCompletedRunsOnly()
    {
        db::ExperimentComparison c;
        c.experiment.id = 1;
        c.experiment.name = u"e"_s;
        c.experiment.planJson = R"({"accuracyBudget": 1.0})";
        // baseline: trained once (rep 0), reused in reps 1 and 2
        c.runs.append(run(1, u"baseline"_s, u"base"_s, 0, 0.900, 100, 20));
        c.runs.append(run(2, u"pruned"_s, u"v1"_s, 0, 0.895, 100, 12, true));
        c.runs.append(run(3, u"int8"_s, u"v2"_s, 0, 0.850, 100, 8, true));
        c.runs.append(run(4, u"baseline"_s, u"base"_s, 1, 0.900, 100, 22, true));
        c.runs.append(run(5, u"pruned"_s, u"v1"_s, 1, 0.895, 100, 13, true));
        c.runs.append(run(6, u"int8"_s, u"v2"_s, 1, 0.850, 100, 9, true));
        c.runs.append(run(7, u"baseline"_s, u"base"_s, 2, 0.900, 100, 21, true));
        c.runs.append(run(8, u"pruned"_s, u"v1"_s, 2, 0.895, 100, 14, true));
        c.runs.append(run(9, u"int8"_s, u"v2"_s, 2, 0.0, 0, 999, true, db::RunStatus::Failed));
        QString error;
        const auto s = summarizeComparison(c, &error, 2000);
        QVERIFY2(s, qPrintable(error));
        QCOMPARE(s->variants.size(), 3);
        const VariantSummary &base = s->variants.at(0);
        const VariantSummary &pruned = s->variants.at(1);
        const VariantSummary &int8 = s->variants.at(2);
        QVERIFY(base.baseline);
        QCOMPARE(base.label, u"baseline"_s);
        QCOMPARE(int8.runs, 3);
        QCOMPARE(int8.completed, 2);
        QCOMPARE(int8.failed, 1);
        QCOMPARE(int8.flagCounts.value(u"short-phase"_s), 2); // failed run not counted

        const QString acc = metricFigureId(u"evaluate"_s, u"accuracy"_s);
        QVERIFY(std::fabs(base.figure(acc)->stats.mean - 90.0) < 1e-9); // percent
        QCOMPARE(base.figure(acc)->unit, u"%"_s);
        QVERIFY(std::fabs(pruned.figure(acc)->delta->mean - (-0.5)) < 1e-9);
        QVERIFY(pruned.withinBudget);
        QVERIFY(int8.budgetKnown);
        QVERIFY(!int8.withinBudget); // -5 points > budget 1
        QVERIFY(base.withinBudget);

        // Inference energy: mean over 3 repetitions, paired delta against the baseline.
        const QString inf = energyFigureId(u"inference:b8"_s, u"package-0"_s);
        QCOMPARE(base.figure(inf)->stats.mean, 21.0);
        QCOMPARE(pruned.figure(inf)->stats.mean, 13.0);
        QCOMPARE(pruned.figure(inf)->delta->pairs, 3);
        QCOMPARE(pruned.figure(inf)->delta->mean, -8.0);
        QCOMPARE(int8.figure(inf)->stats.n, 2); // failed run (999 J) left out
        QCOMPARE(int8.figure(inf)->stats.mean, 8.5);

        // Training happened once; the reuses do not count as more measurements.
        const QString train = energyFigureId(u"train"_s, u"package-0"_s);
        QCOMPARE(base.figure(train)->stats.n, 1);
        QCOMPARE(base.figure(train)->stats.mean, 100.0);
        QVERIFY(base.figure(train)->sharedTraining);
        QCOMPARE(base.figure(train)->byRepetition.size(), 3);
        QCOMPARE(pruned.figure(train)->delta->mean, 0.0);

        // The baseline's prepare is zero, so a variant's prepare delta is its whole cost.
        const QString prep = energyFigureId(u"prepare"_s, u"package-0"_s);
        QCOMPARE(base.figure(prep)->stats.mean, 0.0);
        QCOMPARE(pruned.figure(prep)->delta->mean, 5.0);

        QCOMPARE(s->batchSizes, QList<qint64>{8});
        QVERIFY(s->notes.join(u' ').contains(u"train-reused"_s));

        const QJsonObject json = comparisonToJson(*s);
        const QJsonArray variants = json.value(u"variants"_s).toArray();
        QCOMPARE(variants.size(), 3);
        QVERIFY(!variants.at(2).toObject().value(u"withinAccuracyBudget"_s).toBool());
        bool found = false;
        for (const QJsonValue &f : variants.at(1).toObject().value(u"figures"_s).toArray())
            if (f.toObject().value(u"id"_s).toString() == inf) {
                found = true;
                QCOMPARE(f.toObject().value(u"kind"_s).toString(), u"measured"_s);
                QCOMPARE(f.toObject()
                             .value(u"deltaVsBaseline"_s)
                             .toObject()
                             .value(u"mean"_s)
                             .toDouble(),
                         -8.0);
            }
        QVERIFY(found);
    }

    // Without a completed baseline there is nothing to compare accuracy with: unknown, not
    // "within" and not "over".
    void budgetIsUnknownWithoutABaseline()
    {
        db::ExperimentComparison c;
        c.experiment.planJson = R"({"accuracyBudget": 1.0})";
        c.runs.append(run(1, u"baseline"_s, u"base"_s, 0, 0.9, 10, 2, false,
                          db::RunStatus::Failed));
        c.runs.append(run(2, u"pruned"_s, u"v1"_s, 0, 0.9, 10, 1));
        QString error;
        const auto s = summarizeComparison(c, &error);
        QVERIFY2(s, qPrintable(error));
        QCOMPARE(s->variants.size(), 2);
        QVERIFY(!s->variants.at(1).budgetKnown);
        QVERIFY(!s->variants.at(1).withinBudget);
        const QJsonObject json = comparisonToJson(*s);
        QVERIFY(json.value(u"variants"_s).toArray().at(1).toObject()
                    .value(u"withinAccuracyBudget"_s).isNull());
    }

    void estimateDomainsAreNoted()
    {
        db::ExperimentComparison c;
        c.runs.append(run(1, u"baseline"_s, u"base"_s, 0, 0.9, 10, 2));
        c.runs[0].totals[0].kind = db::ValueKind::Estimate;
        c.runs[0].totals[0].domain = u"cpu"_s;
        QString error;
        const auto s = summarizeComparison(c, &error);
        QVERIFY(s);
        QVERIFY(s->notes.join(u' ').contains(u"ESTIMATE"_s));
        db::ExperimentComparison empty;
        QVERIFY(!summarizeComparison(empty, &error));
        QVERIFY(error.contains(u"has no runs"_s));
    }
};

QTEST_GUILESS_MAIN(TestRunnerStatistics)
#include "tst_runner_statistics.moc"
