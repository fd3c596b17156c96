// SPDX-License-Identifier: GPL-3.0-or-later
// joulebench-cli compare: the variants of an experiment side by side, from stored aggregates.
#include "command.h"

#include "cli_tables.h"
#include "database/environment_mix.h"
#include "database/store.h"
#include "engine/run_statistics.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

using namespace jb;
using namespace jb::cli;
using namespace Qt::StringLiterals;

namespace {

QString variantLabel(const VariantSummary &v)
{
    if (!v.budgetKnown)
        return v.label + u" (accuracy not comparable)"_s;
    return v.withinBudget ? v.label : v.label + u" (over budget)"_s;
}

/// Per variant (same order as s.variants): the environments of its completed runs and of its
/// baseline's, so a delta between machines or software versions is flagged.
QList<db::EnvironmentMix> environmentMixes(const ComparisonSummary &s,
                                           const db::ExperimentComparison &c)
{
    QList<db::EnvironmentMix> out;
    for (const VariantSummary &v : s.variants) {
        QList<qint64> ids = v.runIds;
        const VariantSummary *base = nullptr;
        for (const VariantSummary &o : s.variants)
            if (!base && !v.baselineKey.isEmpty() && o.configKey == v.baselineKey)
                base = &o;
        for (const VariantSummary &o : s.variants)
            if (!base && o.baseline && o.backend == v.backend)
                base = &o;
        if (base && base != &v)
            ids += base->runIds;
        out.append(db::environmentMix(c, ids));
    }
    return out;
}

QString flagText(const VariantSummary &v, const db::EnvironmentMix &mix)
{
    QStringList parts = mix.flags();
    for (auto it = v.flagCounts.constBegin(); it != v.flagCounts.constEnd(); ++it)
        parts.append(u"%1 %2/%3"_s.arg(it.key()).arg(it.value()).arg(v.completed));
    return parts.join(u", "_s);
}

QString statsCell(const VariantSummary &v, const QString &id, double scale = 1.0)
{
    const ComparedFigure *f = v.figure(id);
    if (!f)
        return u"-"_s;
    QString text = formatMeanCi(f->stats, 3, scale);
    if (f->sharedTraining)
        text += u" (reused)"_s;
    return text;
}

QString deltaCell(const VariantSummary &v, const QString &id, double scale = 1.0)
{
    const ComparedFigure *f = v.figure(id);
    return f ? formatDelta(f->delta, 3, scale) : u"-"_s;
}

QString renderText(const ComparisonSummary &s, const QList<db::EnvironmentMix> &mixes)
{
    QString text =
        u"Experiment %1 '%2' (plan %3, created %4)\n"_s.arg(s.experiment.id)
            .arg(s.experiment.name, s.experiment.planHash.left(12), s.experiment.created);
    text +=
        u"Mean [bootstrap 95 % CI] over completed repetitions; delta = difference to the "
        "baseline on the same backend, paired by repetition. Accuracy budget: %1 points.\n\n"_s.arg(
            s.accuracyBudget);

    const QString accId = metricFigureId(u"evaluate"_s, u"accuracy"_s);
    TextTable main({u"variant"_s, u"backend"_s, u"runs"_s, u"accuracy %"_s, u"delta pts"_s,
                    u"budget"_s, u"params"_s, u"MACs"_s, u"flags"_s},
                   {false, false, false, true, true, false, true, true, false});
    for (qsizetype vi = 0; vi < s.variants.size(); ++vi) {
        const VariantSummary &v = s.variants.at(vi);
        QString runs = u"%1/%2"_s.arg(v.completed).arg(v.runs);
        if (v.failed)
            runs += u", %1 failed"_s.arg(v.failed);
        if (v.cancelled)
            runs += u", %1 cancelled"_s.arg(v.cancelled);
        if (v.interrupted)
            runs += u", %1 interrupted"_s.arg(v.interrupted);
        main.addRow({variantLabel(v), v.backend, runs, statsCell(v, accId, 1.0),
                     v.baseline ? u"-"_s : deltaCell(v, accId),
                     v.baseline       ? u"baseline"_s
                     : !v.budgetKnown ? u"unknown"_s
                     : v.withinBudget ? u"within"_s
                                      : u"OVER"_s,
                     statsCell(v, metricFigureId(QString(), u"params"_s)),
                     statsCell(v, metricFigureId(QString(), u"macs"_s)),
                     flagText(v, mixes.at(vi))});
    }
    text += main.render(2);

    for (const db::RunDomain &d : s.domains) {
        const bool estimate = d.kind == db::ValueKind::Estimate;
        const QString kind = estimate ? u"ESTIMATE"_s : u"measured"_s;
        text += u"\nNet energy per phase, domain %1 (%2, meter %3), J%4\n"_s.arg(
            d.name, kind, d.meterId, estimate ? u" (estimate)"_s : QString());
        QStringList header{u"variant"_s, u"backend"_s};
        QList<bool> numeric{false, false};
        const QStringList phases{u"train"_s, u"prepare"_s, u"evaluate"_s};
        for (const QString &p : phases) {
            header << p << u"delta "_s + p;
            numeric << true << true;
        }
        TextTable et(header, numeric);
        for (const VariantSummary &v : s.variants) {
            QStringList row{variantLabel(v), v.backend};
            for (const QString &p : phases)
                row << statsCell(v, energyFigureId(p, d.name))
                    << (v.baseline ? u"-"_s : deltaCell(v, energyFigureId(p, d.name)));
            et.addRow(row);
        }
        text += et.render(2);

        text += u"\nNet energy per inference, domain %1 (%2), mJ per sample%3\n"_s.arg(
            d.name, kind, estimate ? u" (estimate)"_s : QString());
        QStringList ih{u"variant"_s, u"backend"_s};
        QList<bool> inum{false, false};
        for (qint64 b : s.batchSizes) {
            ih << u"b%1"_s.arg(b) << u"delta b%1"_s.arg(b) << u"ratio b%1"_s.arg(b);
            inum << true << true << true;
        }
        TextTable it(ih, inum);
        for (const VariantSummary &v : s.variants) {
            QStringList row{variantLabel(v), v.backend};
            for (qint64 b : s.batchSizes) {
                const QString id = metricFigureId(u"inference:b%1"_s.arg(b),
                                                  u"energy_per_inference_j/"_s + d.name);
                const ComparedFigure *f = v.figure(id);
                row << statsCell(v, id, 1000.0) << (v.baseline ? u"-"_s : deltaCell(v, id, 1000.0))
                    << (v.baseline || !f || !f->delta ? u"-"_s
                                                      : formatNumber(f->delta->ratio) + u"x"_s);
            }
            it.addRow(row);
        }
        text += it.render(2);
    }

    text += u"\nLatency per batch (p50, ms) and throughput (samples/s)\n"_s;
    QStringList lh{u"variant"_s, u"backend"_s};
    QList<bool> lnum{false, false};
    for (qint64 b : s.batchSizes) {
        lh << u"p50 b%1"_s.arg(b) << u"delta b%1"_s.arg(b) << u"thrpt b%1"_s.arg(b);
        lnum << true << true << true;
    }
    TextTable lt(lh, lnum);
    for (const VariantSummary &v : s.variants) {
        QStringList row{variantLabel(v), v.backend};
        for (qint64 b : s.batchSizes) {
            const QString phase = u"inference:b%1"_s.arg(b);
            const QString id = metricFigureId(phase, u"latency_p50_ms"_s);
            row << statsCell(v, id) << (v.baseline ? u"-"_s : deltaCell(v, id))
                << statsCell(v, metricFigureId(phase, u"throughput_sps"_s));
        }
        lt.addRow(row);
    }
    text += lt.render(2);
    QStringList notes = s.notes;
    for (qsizetype vi = 0; vi < s.variants.size(); ++vi)
        if (!mixes.at(vi).flags().isEmpty())
            notes.append(u"%1 on %2 (%3): its runs and its baseline's come from different "
                         "machines or software (%4); differences include the environment "
                         "(docs/cluster.md)"_s.arg(
                             s.variants.at(vi).label, s.variants.at(vi).backend,
                             mixes.at(vi).flags().join(u", "_s), mixes.at(vi).describe()));
    if (!notes.isEmpty()) {
        text += u"\nNotes\n"_s;
        for (const QString &n : std::as_const(notes))
            text += u"  - "_s + n + u'\n';
    }
    text += u"  - variants marked '(over budget)' lost more accuracy than the budget; their "
            "savings are not at iso-accuracy.\n"_s;
    return text;
}

int runCompare(const QStringList &args)
{
    QCommandLineParser parser;
    parser.setApplicationDescription(
        u"Compares the variants of an experiment from stored aggregates: accuracy with the "
        "budget check, net energy per phase and per inference per domain, latency, size, flags; "
        "mean and bootstrap 95 % CI over repetitions, and the paired difference to the "
        "baseline. Estimates are labelled and never summed with measured domains."_s);
    const QCommandLineOption dbOpt(u"db"_s, u"The database."_s, u"file"_s);
    const QCommandLineOption experimentOpt(u"experiment"_s, u"Experiment id or 'last'."_s, u"id"_s,
                                           u"last"_s);
    const QCommandLineOption json(u"json"_s, u"Print JSON."_s);
    const QCommandLineOption resamples(u"resamples"_s, u"Bootstrap resamples (default 10000)."_s,
                                       u"n"_s, u"10000"_s);
    parser.addOptions({dbOpt, experimentOpt, json, resamples});
    int exitCode = ExitOk;
    if (!parseArguments(parser, args, &exitCode))
        return exitCode;
    if (!parser.isSet(dbOpt)) {
        printError(u"compare needs --db FILE"_s);
        return ExitUsage;
    }
    bool ok = false;
    const int n = parser.value(resamples).toInt(&ok);
    if (!ok || n < 100 || n > 1000000) {
        printError(u"--resamples must be an integer from 100 to 1000000, got '%1'"_s.arg(
            parser.value(resamples)));
        return ExitUsage;
    }
    db::Store store;
    QString error;
    if (!store.open(parser.value(dbOpt), db::Store::OpenMode::ReadOnly, &error)) {
        printError(error);
        return ExitFailure;
    }
    const QString which = parser.value(experimentOpt);
    const qint64 id = which.toLongLong(&ok);
    if (which != u"last"_s && !ok) {
        printError(u"--experiment must be an id or 'last', got '%1'"_s.arg(which));
        return ExitUsage;
    }
    const auto experiment =
        which == u"last"_s ? store.lastExperiment(&error) : store.experiment(id, &error);
    const auto comparison = experiment ? store.comparison(experiment->id, &error) : std::nullopt;
    const auto summary = comparison ? summarizeComparison(*comparison, &error, n) : std::nullopt;
    if (!summary) {
        printError(error);
        return ExitFailure;
    }
    const QList<db::EnvironmentMix> mixes = environmentMixes(*summary, *comparison);
    if (parser.isSet(json)) {
        QJsonObject o = comparisonToJson(*summary);
        QJsonArray variants = o.value(u"variants"_s).toArray();
        for (qsizetype i = 0; i < variants.size() && i < mixes.size(); ++i) {
            const db::EnvironmentMix &m = mixes.at(i);
            QJsonObject v = variants.at(i).toObject();
            v.insert(u"environment"_s,
                     QJsonObject{{u"hosts"_s, QJsonArray::fromStringList(m.hosts)},
                                 {u"fingerprints"_s, QJsonArray::fromStringList(m.fingerprints)},
                                 {u"differs"_s, QJsonArray::fromStringList(m.differingKeys)},
                                 {u"flags"_s, QJsonArray::fromStringList(m.flags())}});
            variants[i] = v;
        }
        o.insert(u"variants"_s, variants);
        printOut(QString::fromUtf8(QJsonDocument(o).toJson(QJsonDocument::Indented)));
    } else {
        printOut(renderText(*summary, mixes));
    }
    return ExitOk;
}

} // namespace

JB_CLI_COMMAND(compare, "compare", "Compare the variants of an experiment (from stored figures)",
               runCompare);
