// SPDX-License-Identifier: GPL-3.0-or-later
// The methods statement of a report: what a paper's "measurement setup" paragraph needs, from
// what the runner stored (docs/methodology.md sections 1-6). Only stored facts; a fact the
// database does not hold is said to be unknown, never guessed.
#include "report_document.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>

#include <algorithm>

using namespace Qt::StringLiterals;

namespace jb::report {

namespace {

QJsonObject objectOf(const QByteArray &json)
{
    return QJsonDocument::fromJson(json).object();
}

QString orUnknown(const QString &s)
{
    return s.trimmed().isEmpty() ? u"unknown"_s : s.trimmed();
}

/// A setting as written in the plan ("2", "0.001", "10"), not rounded to significant digits.
QString plain(double v)
{
    return QString::number(v, 'g', 10);
}

QString numberText(const QJsonValue &v)
{
    return v.isDouble() ? plain(v.toDouble()) : u"unknown"_s;
}

/// "a, b and c".
QString joinAnd(const QStringList &items)
{
    if (items.size() <= 1)
        return items.value(0);
    return QStringList(items.mid(0, items.size() - 1)).join(u", "_s) + u" and "_s + items.last();
}

QString hardwareOf(const QJsonObject &env)
{
    const QJsonObject cpu = env.value(u"cpu"_s).toObject();
    QString text =
        u"host %1: CPU %2 (%3 physical cores, %4 logical CPUs, %5 usable by the "
        "process), %6, kernel %7"_s.arg(
            orUnknown(env.value(u"host"_s).toString()), orUnknown(cpu.value(u"model"_s).toString()),
            numberText(cpu.value(u"physicalCores"_s)), numberText(cpu.value(u"logicalCpus"_s)),
            numberText(cpu.value(u"usableCpus"_s)), orUnknown(env.value(u"os"_s).toString()),
            orUnknown(env.value(u"kernel"_s).toString()));
    const double mem = env.value(u"memoryBytes"_s).toDouble();
    text += mem > 0
                ? u", %1 GiB memory"_s.arg(QString::number(mem / (1024.0 * 1024 * 1024), 'g', 3))
                : u", memory size not recorded"_s;
    const QJsonObject freq = env.value(u"cpufreq"_s).toObject();
    if (freq.value(u"readable"_s).toBool()) {
        QStringList gov;
        for (const QJsonValue &g : freq.value(u"governors"_s).toArray())
            gov.append(g.toString());
        text += u"; cpufreq governor %1 (driver %2)"_s.arg(
            orUnknown(gov.join(u", "_s)), orUnknown(freq.value(u"driver"_s).toString()));
    } else {
        text += u"; CPU frequency scaling not readable (%1)"_s.arg(
            orUnknown(freq.value(u"note"_s).toString()));
    }
    return text;
}

QString softwareOf(const QJsonObject &env)
{
    const QJsonObject sw = env.value(u"software"_s).toObject();
    const QJsonObject blas = env.value(u"blas"_s).toObject();
    return u"JouleBench %1 (project revision %2), libtorch %3, Qt %4 (built with %5), compiler "
           "%6; BLAS: %7 (%8)"_s.arg(orUnknown(sw.value(u"joulebench"_s).toString()),
                                     orUnknown(sw.value(u"revision"_s).toString()),
                                     orUnknown(sw.value(u"torch"_s).toString()),
                                     orUnknown(sw.value(u"qtRuntime"_s).toString()),
                                     orUnknown(sw.value(u"qtBuild"_s).toString()),
                                     orUnknown(sw.value(u"compiler"_s).toString()),
                                     orUnknown(blas.value(u"kind"_s).toString()),
                                     orUnknown(blas.value(u"config"_s).toString()));
}

QString metersOf(const QJsonObject &env)
{
    QStringList meters;
    for (const QJsonValue &mv : env.value(u"meters"_s).toArray()) {
        const QJsonObject m = mv.toObject();
        QStringList domains;
        for (const QJsonValue &dv : m.value(u"domains"_s).toArray()) {
            const QJsonObject d = dv.toObject();
            QString dt =
                u"%1 (%2, %3)"_s.arg(d.value(u"name"_s).toString(), d.value(u"kind"_s).toString(),
                                     orUnknown(d.value(u"method"_s).toString()));
            if (!d.value(u"partOf"_s).toString().isEmpty())
                dt += u", part of "_s + d.value(u"partOf"_s).toString();
            domains.append(dt);
        }
        meters.append(u"%1 [%2, kind %3, counter update interval %4 s; domains: %5]"_s.arg(
            orUnknown(m.value(u"name"_s).toString()), m.value(u"id"_s).toString(),
            orUnknown(m.value(u"kind"_s).toString()), numberText(m.value(u"updateIntervalS"_s)),
            domains.isEmpty() ? u"none"_s : domains.join(u"; "_s)));
    }
    return meters.isEmpty() ? u"no meter recorded"_s : meters.join(u"; "_s);
}

/// The distinct values of a text derived from each run's environment, in run order.
QStringList distinct(const db::ExperimentComparison &c, QString (*of)(const QJsonObject &))
{
    QStringList out;
    for (const db::RunComparison &r : c.runs) {
        const QString v = of(objectOf(r.run.envJson));
        if (!out.contains(v))
            out.append(v);
    }
    return out;
}

QString describeChain(const QJsonArray &chain)
{
    QStringList steps;
    for (const QJsonValue &sv : chain) {
        const QJsonObject s = sv.toObject();
        const QJsonObject params = s.value(u"params"_s).toObject();
        QStringList p;
        for (auto it = params.constBegin(); it != params.constEnd(); ++it)
            p.append(
                it.key() + u'=' +
                (it.value().isString()
                     ? it.value().toString()
                     : QString::fromUtf8(
                           QJsonDocument(QJsonArray{it.value()}).toJson(QJsonDocument::Compact))
                           .mid(1)
                           .chopped(1)));
        steps.append(s.value(u"plugin"_s).toString() +
                     (p.isEmpty() ? QString() : u"("_s + p.join(u", "_s) + u')'));
    }
    return steps.isEmpty() ? u"no technique (baseline)"_s : steps.join(u" then "_s);
}

} // namespace

QStringList methodsStatement(const db::ExperimentComparison &c, const ComparisonSummary &s)
{
    QStringList out;
    const QJsonObject plan = objectOf(c.experiment.planJson);
    const QJsonObject measurement = plan.value(u"measurement"_s).toObject();
    const QJsonObject dataset = plan.value(u"dataset"_s).toObject();
    const QJsonObject model = plan.value(u"model"_s).toObject();
    const QJsonObject training = plan.value(u"training"_s).toObject();
    const QJsonObject inference = plan.value(u"inference"_s).toObject();

    // Hardware and software: every distinct environment (merged shards may differ).
    const QStringList hardware = distinct(c, hardwareOf);
    const QStringList software = distinct(c, softwareOf);
    out.append(hardware.size() == 1
                   ? u"Hardware. All runs were executed on %1."_s.arg(hardware.first())
                   : u"Hardware. The runs come from %1 different machine records (they are not "
                     "comparable without care): %2."_s.arg(hardware.size())
                         .arg(hardware.join(u"; "_s)));
    out.append(
        software.size() == 1
            ? u"Software. %1."_s.arg(software.first())
            : u"Software. The runs used %1 different software records: %2."_s.arg(software.size())
                  .arg(software.join(u"; "_s)));

    // Meters and sampling.
    const QStringList meters = distinct(c, metersOf);
    QStringList kinds;
    for (const db::RunDomain &d : s.domains)
        kinds.append(u"%1 (%2, meter %3)"_s.arg(d.name, db::valueKindName(d.kind), d.meterId));
    double rateSum = 0;
    int rateN = 0;
    for (const db::RunComparison &r : c.runs)
        for (const db::MetricRecord &m : r.metrics)
            if (m.phase.isEmpty() && m.name == u"sampler_rate_hz"_s) {
                rateSum += m.value;
                ++rateN;
            }
    QString meterText =
        u"Energy measurement. Meters: %1. Stored energy domains: %2. Domains are never summed; "
        "an estimate is modelled, not measured, and is labelled \"estimate\" in every table and "
        "chart of this report. The sampler read all meters at %3 Hz (plan setting"_s.arg(
            meters.join(u" | "_s), kinds.isEmpty() ? u"none"_s : joinAnd(kinds),
            numberText(measurement.value(u"samplingHz"_s)));
    meterText += rateN > 0 ? u"; achieved %1 Hz on average over %2 runs)"_s
                                 .arg(formatNumber(rateSum / rateN, 3))
                                 .arg(rateN)
                           : u"; achieved rate not recorded)"_s;
    meterText += u" and at every phase boundary; the energy of a phase is the difference of the "
                 "cumulative counters between its bracketing reads, not an integral of samples."_s;
    const QStringList warnings = distinct(c, [](const QJsonObject &env) {
        QStringList w;
        for (const QJsonValue &v : env.value(u"meterWarnings"_s).toArray())
            w.append(v.toString());
        return w.join(u" "_s);
    });
    QStringList nonEmpty;
    for (const QString &w : warnings)
        if (!w.isEmpty())
            nonEmpty.append(w);
    if (!nonEmpty.isEmpty())
        meterText += u" Meter warnings recorded when the meters were chosen: %1"_s.arg(
            nonEmpty.join(u" | "_s));
    out.append(meterText);

    // Idle baseline.
    const double idleBefore = measurement.value(u"idleBefore"_s).toDouble(-1);
    const double idleAfter = measurement.value(u"idleAfter"_s).toDouble(0);
    if (idleBefore > 0 || idleAfter > 0) {
        QString idle = u"Idle baseline. Each run started with an idle window of %1 s"_s.arg(
            plain(std::max(0.0, idleBefore)));
        if (idleAfter > 0)
            idle += u" and ended with one of %1 s (the idle power used is the mean of both; a "
                    "difference above 10 % flags the run idle-drift)"_s.arg(plain(idleAfter));
        idle += u", in which the process slept while the meters were read. Per domain "
                "P_idle = E_idle / t_idle, and every phase's net energy is "
                "E_net = E_gross - P_idle x t (kept when slightly negative, not clamped)."_s;
        out.append(idle);
    } else if (idleBefore == 0) {
        out.append(u"Idle baseline. None was measured (idleBefore = 0): net energy equals gross "
                   "energy and the runs carry the flag no-idle-baseline."_s);
    } else {
        out.append(u"Idle baseline. The plan does not record the idle window."_s);
    }

    // Protocol.
    QStringList variants;
    for (const QJsonValue &vv : plan.value(u"variants"_s).toArray()) {
        const QJsonObject v = vv.toObject();
        variants.append(u"\"%1\" (%2)"_s.arg(v.value(u"label"_s).toString(),
                                             describeChain(v.value(u"chain"_s).toArray())));
    }
    QStringList backends, batchSizes;
    for (const QJsonValue &b : plan.value(u"backends"_s).toArray())
        backends.append(b.toString());
    for (const QJsonValue &b : inference.value(u"batchSizes"_s).toArray())
        batchSizes.append(numberText(b));
    const QString order = plan.value(u"order"_s).toString(u"interleaved"_s);
    QString protocol =
        u"Protocol. Plan \"%1\" (plan hash %2): model %3 on data set %4 (train limit %5, test "
        "limit %6, seed %7), trained for %8 epochs (%9, learning rate %10, batch %11). "_s
            .arg(
                orUnknown(plan.value(u"name"_s).toString(c.experiment.name)),
                c.experiment.planHash.left(16),
                orUnknown(model.value(u"zoo"_s).toString(model.value(u"torchscript"_s).toString())),
                orUnknown(dataset.value(u"name"_s).toString()),
                numberText(dataset.value(u"trainLimit"_s)),
                numberText(dataset.value(u"testLimit"_s)),
                numberText(dataset.value(u"seed"_s).isUndefined() ? plan.value(u"seed"_s)
                                                                  : dataset.value(u"seed"_s)),
                numberText(training.value(u"epochs"_s)),
                orUnknown(training.value(u"optimizer"_s).toString()))
            .arg(numberText(training.value(u"learningRate"_s)),
                 numberText(training.value(u"batchSize"_s)));
    protocol +=
        u"Variants: %1. Backends: %2. Each (variant, backend) cell was run %3 times; "_s.arg(
            variants.isEmpty() ? u"not recorded"_s : joinAnd(variants),
            backends.isEmpty() ? u"not recorded"_s : backends.join(u", "_s),
            numberText(plan.value(u"repetitions"_s)));
    protocol += order == u"shuffled"_s
                    ? u"the runs were ordered in rounds, each round a seeded random permutation of "
                      "the cells, so drift spreads over all variants. "_s
                    : u"the runs were interleaved in rounds (every round runs each cell once, in "
                      "plan order: A B C A B C ...), so drift spreads over all variants instead "
                      "of favouring the one run first. "_s;
    protocol += u"Phases per run: idle, train, prepare (the technique's own cost), evaluate "
                "(top-1 accuracy on the test split), and inference at batch sizes %1 with %2 "
                "measured batches each after %3 unmeasured warm-up batches. "_s.arg(
                    batchSizes.isEmpty() ? u"unknown"_s : batchSizes.join(u", "_s),
                    numberText(inference.value(u"batches"_s)),
                    numberText(inference.value(u"warmupBatches"_s)));
    if (plan.value(u"cacheBaseline"_s).toBool())
        protocol += u"The baseline was trained once per cache key and reused; a reusing run "
                    "records the source run's measured train figures (flag train-reused) and "
                    "the statistics count each training once. "_s;
    protocol += u"Accuracy budget: %1 points below the baseline."_s.arg(plain(s.accuracyBudget));
    out.append(protocol);

    // Statistics.
    int runs = 0, completed = 0;
    for (const VariantSummary &v : s.variants) {
        runs += v.runs;
        completed += v.completed;
    }
    out.append(u"Statistics. %1 of %2 runs completed; only completed runs count. Figures are "
               "means over repetitions with a 95 % percentile-bootstrap confidence interval of "
               "the mean (%3 resamples, fixed seed, none for a single repetition). Differences "
               "to the baseline are paired by repetition index on the same backend "
               "(d_r = variant_r - baseline_r) with their own bootstrap CI; ratios are of the "
               "means over the pairs. A variant is within the accuracy budget when its mean "
               "paired accuracy loss is at most the budget; savings of a variant over the "
               "budget are not at iso-accuracy."_s.arg(completed)
                   .arg(runs)
                   .arg(s.resamples));
    return out;
}

} // namespace jb::report
