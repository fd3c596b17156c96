// SPDX-License-Identifier: GPL-3.0-or-later
// The report's tables, from the same summary `compare` prints (summarizeComparison), and the
// validity flags with their meaning.
#include "report_document.h"

#include <QMap>

#include <cmath>

using namespace Qt::StringLiterals;

namespace jb::report {

namespace {

QString meanCi(const FigureStats &s, double scale)
{
    if (s.n == 0)
        return u"-"_s;
    QString t = formatNumber(s.mean * scale);
    if (s.ci)
        t += u" [%1, %2]"_s.arg(formatNumber(s.ci->lower * scale),
                                formatNumber(s.ci->upper * scale));
    return t;
}

QString cell(const VariantSummary &v, const QString &id, double scale = 1.0)
{
    const ComparedFigure *f = v.figure(id);
    if (!f)
        return u"-"_s;
    QString t = meanCi(f->stats, scale);
    if (f->sharedTraining)
        t += u" (reused)"_s;
    return t;
}

QString signedNumber(double v)
{
    const QString t = formatNumber(v);
    return v > 0 ? u"+"_s + t : t;
}

QString deltaCell(const VariantSummary &v, const QString &id, double scale = 1.0)
{
    if (v.baseline)
        return u"-"_s;
    const ComparedFigure *f = v.figure(id);
    if (!f || !f->delta || f->delta->pairs == 0)
        return u"-"_s;
    QString t = signedNumber(f->delta->mean * scale);
    if (f->delta->ci)
        t += u" [%1, %2]"_s.arg(signedNumber(f->delta->ci->lower * scale),
                                signedNumber(f->delta->ci->upper * scale));
    return t;
}

QString ratioCell(const VariantSummary &v, const QString &id)
{
    const ComparedFigure *f = v.figure(id);
    if (v.baseline || !f || !f->delta || !std::isfinite(f->delta->ratio))
        return u"-"_s;
    return formatNumber(f->delta->ratio) + u"x"_s;
}

QString variantLabel(const VariantSummary &v)
{
    if (v.baseline)
        return v.label + u" (baseline)"_s;
    if (!v.budgetKnown)
        return v.label + u" (accuracy not comparable)"_s;
    return v.withinBudget ? v.label : v.label + u" (over budget)"_s;
}

QString runsCell(const VariantSummary &v)
{
    QString t = u"%1/%2"_s.arg(v.completed).arg(v.runs);
    if (v.failed)
        t += u", %1 failed"_s.arg(v.failed);
    if (v.cancelled)
        t += u", %1 cancelled"_s.arg(v.cancelled);
    if (v.interrupted)
        t += u", %1 interrupted"_s.arg(v.interrupted);
    return t;
}

/// " (estimate)" for headers of estimated columns.
QString mark(bool estimate)
{
    return estimate ? u" ("_s + estimateMarker() + u')' : QString();
}

} // namespace

QString formatNumber(double value, int significant)
{
    if (!std::isfinite(value))
        return u"n/a"_s;
    if (value == 0)
        return u"0"_s;
    // Round first, so that 0.99999 and 1.00001 both print as "1.00".
    value = QString::number(value, 'g', significant).toDouble();
    const double a = std::fabs(value);
    if (a >= 1e-3 && a < 1e6) {
        const int decimals = std::max(0, significant - 1 - int(std::floor(std::log10(a))));
        QString t = QString::number(value, 'f', decimals);
        return t == u"-0"_s ? u"0"_s : t;
    }
    return QString::number(value, 'g', significant);
}

QList<Table> comparisonTables(const ComparisonSummary &s)
{
    QList<Table> out;
    const QString accId = metricFigureId(u"evaluate"_s, u"accuracy"_s);

    Table main;
    main.title = u"Accuracy, accuracy budget, size"_s;
    main.note =
        u"Mean [bootstrap 95 % CI] over completed repetitions; delta = paired "
        "difference to the baseline on the same backend. Budget: %1 points. Parameters "
        "and MACs are proxies, not energy."_s.arg(QString::number(s.accuracyBudget, 'g', 10));
    main.header = {u"variant"_s,        u"backend"_s,      u"runs"_s,
                   u"accuracy %"_s,     u"delta pts"_s,    u"budget"_s,
                   u"params (proxy)"_s, u"MACs (proxy)"_s, u"flags"_s};
    main.numeric = {false, false, false, true, true, false, true, true, false};
    for (const VariantSummary &v : s.variants) {
        QStringList flags;
        for (auto it = v.flagCounts.constBegin(); it != v.flagCounts.constEnd(); ++it)
            flags.append(u"%1 %2/%3"_s.arg(it.key()).arg(it.value()).arg(v.completed));
        main.rows.append({variantLabel(v), v.backend, runsCell(v), cell(v, accId),
                          deltaCell(v, accId),
                          v.baseline       ? u"baseline"_s
                          : !v.budgetKnown ? u"unknown"_s
                          : v.withinBudget ? u"within"_s
                                           : u"OVER"_s,
                          cell(v, metricFigureId(QString(), u"params"_s)),
                          cell(v, metricFigureId(QString(), u"macs"_s)), flags.join(u", "_s)});
    }
    out.append(main);

    const QStringList phases{u"train"_s, u"prepare"_s, u"evaluate"_s};
    for (const db::RunDomain &d : s.domains) {
        const bool estimate = d.kind == db::ValueKind::Estimate;
        Table et;
        et.estimate = estimate;
        et.title = u"Net energy per phase, domain %1 (%2, meter %3)"_s.arg(
            d.name, estimate ? u"ESTIMATE"_s : u"measured"_s, d.meterId);
        et.note = u"Joules%1, net of the idle baseline; delta vs the baseline [95 % CI]. The "
                  "prepare phase is the technique's own cost (0 J for the baseline)."_s.arg(
                      mark(estimate));
        et.header = {u"variant"_s, u"backend"_s, u"kind"_s};
        et.numeric = {false, false, false};
        for (const QString &p : phases) {
            et.header << p + u" J"_s + mark(estimate) << u"delta "_s + p;
            et.numeric << true << true;
        }
        for (const VariantSummary &v : s.variants) {
            QStringList row{variantLabel(v), v.backend, db::valueKindName(d.kind)};
            for (const QString &p : phases)
                row << cell(v, energyFigureId(p, d.name))
                    << deltaCell(v, energyFigureId(p, d.name));
            et.rows.append(row);
        }
        out.append(et);

        Table it;
        it.estimate = estimate;
        it.title = u"Net energy per inference, domain %1 (%2)"_s.arg(
            d.name, estimate ? u"ESTIMATE"_s : u"measured"_s);
        it.note = u"Millijoules per sample%1 at each batch size; ratio = variant / baseline "
                  "(only where both are positive)."_s.arg(mark(estimate));
        it.header = {u"variant"_s, u"backend"_s, u"kind"_s};
        it.numeric = {false, false, false};
        for (qint64 b : s.batchSizes) {
            it.header << u"b%1 mJ"_s.arg(b) + mark(estimate) << u"delta b%1"_s.arg(b)
                      << u"ratio b%1"_s.arg(b);
            it.numeric << true << true << true;
        }
        for (const VariantSummary &v : s.variants) {
            QStringList row{variantLabel(v), v.backend, db::valueKindName(d.kind)};
            for (qint64 b : s.batchSizes) {
                const QString id = metricFigureId(u"inference:b%1"_s.arg(b),
                                                  u"energy_per_inference_j/"_s + d.name);
                row << cell(v, id, 1000.0) << deltaCell(v, id, 1000.0) << ratioCell(v, id);
            }
            it.rows.append(row);
        }
        out.append(it);
    }

    Table lt;
    lt.title = u"Latency and throughput"_s;
    lt.note = u"Median latency per batch (ms) with its paired delta, and throughput "
              "(samples/s), per inference batch size. Measured by the clock, no energy."_s;
    lt.header = {u"variant"_s, u"backend"_s};
    lt.numeric = {false, false};
    for (qint64 b : s.batchSizes) {
        lt.header << u"p50 ms b%1"_s.arg(b) << u"delta b%1"_s.arg(b) << u"samples/s b%1"_s.arg(b);
        lt.numeric << true << true << true;
    }
    for (const VariantSummary &v : s.variants) {
        QStringList row{variantLabel(v), v.backend};
        for (qint64 b : s.batchSizes) {
            const QString phase = u"inference:b%1"_s.arg(b);
            const QString id = metricFigureId(phase, u"latency_p50_ms"_s);
            row << cell(v, id) << deltaCell(v, id)
                << cell(v, metricFigureId(phase, u"throughput_sps"_s));
        }
        lt.rows.append(row);
    }
    out.append(lt);
    return out;
}

QString flagMeaning(const QString &flag)
{
    static const QMap<QString, QString> meanings{
        {u"short-phase"_s,
         u"a measured phase lasted less than 10x a meter's counter update interval; its figure "
         "is dominated by counter quantisation"_s},
        {u"counter-wrap"_s,
         u"a meter corrected at least one counter wrap during the run (corrected with the "
         "counter range)"_s},
        {u"estimate"_s, u"a domain is an estimate (CPU time x TDP), not a measurement"_s},
        {u"background-load"_s,
         u"other processes used more than the threshold (default 0.1 cores) on average during "
         "the run; the meters see the whole package, so that load is in the figures"_s},
        {u"throttling"_s, u"the thermal throttle counters increased during the run"_s},
        {u"reference-blas"_s,
         u"libtorch called the reference (netlib) BLAS, ~30x slower than OpenBLAS: the figures "
         "describe that BLAS"_s},
        {u"train-reused"_s,
         u"the train figures were copied from the run that trained the cached baseline"_s},
        {u"no-idle-baseline"_s, u"no idle power was measured: net energy = gross energy"_s},
        {u"idle-drift"_s,
         u"idle power before and after the run differ by more than 10 % in a domain"_s},
        {u"read-error"_s,
         u"a meter read failed; the affected domain is left out of a phase instead of stored "
         "as zero"_s},
    };
    return meanings.value(flag);
}

QList<FlagRow> flagRows(const ComparisonSummary &s)
{
    QMap<QString, QStringList> seen; // flag -> "n/m variant" parts, sorted by flag
    for (const VariantSummary &v : s.variants)
        for (auto it = v.flagCounts.constBegin(); it != v.flagCounts.constEnd(); ++it)
            seen[it.key()].append(
                u"%1/%2 %3 (%4)"_s.arg(it.value()).arg(v.completed).arg(v.label, v.backend));
    QList<FlagRow> out;
    for (auto it = seen.constBegin(); it != seen.constEnd(); ++it) {
        const QString meaning = flagMeaning(it.key());
        out.append({it.key(),
                    meaning.isEmpty() ? u"not documented by this JouleBench version (see "
                                        "docs/methodology.md of the version that ran it)"_s
                                      : meaning,
                    it.value().join(u", "_s)});
    }
    return out;
}

} // namespace jb::report
