// SPDX-License-Identifier: GPL-3.0-or-later
// Builds a report's content from the database: facts, methods, tables, charts, flags, notes.
#include "report_document.h"

#include "comparison_charts.h"
#include "database/store.h"

#include "report/qcp.h"

#include <QBuffer>
#include <QImage>
#include <QRegularExpression>

using namespace Qt::StringLiterals;

namespace jb::report {

namespace {

QString safeId(QString text)
{
    static const QRegularExpression bad(u"[^A-Za-z0-9._-]+"_s);
    return text.replace(bad, u"-"_s);
}

/// Renders what `fill` draws into an offscreen QCustomPlot as PNG bytes. PNG from the same
/// pixels is the same bytes (Qt writes no time or text chunks unless asked).
template <typename Fill> QByteArray renderPng(const Options &o, Fill fill)
{
    QCustomPlot plot;
    plot.resize(o.chartWidth, o.chartHeight);
    fill(&plot);
    const QImage image = plot.toPixmap(o.chartWidth, o.chartHeight, 1.0).toImage();
    QByteArray png;
    QBuffer buffer(&png);
    buffer.open(QIODevice::WriteOnly);
    image.save(&buffer, "PNG");
    return png;
}

QList<Chart> renderCharts(const db::Store &store, const db::ExperimentComparison &c,
                          const Options &o, QStringList *notes)
{
    QList<Chart> out;
    const QStringList domains = ComparisonData::domainsOf(c);
    QList<std::optional<ComparisonData>> data;
    // The proxy and power charts are drawn once, for the first measured domain (the first
    // domain when all are estimates).
    qsizetype primary = -1;
    for (qsizetype di = 0; di < domains.size(); ++di) {
        QString error;
        data.append(ComparisonData::build(c, domains.at(di), 0, &error));
        if (!data.last())
            notes->append(u"No charts for domain %1: %2."_s.arg(domains.at(di), error));
        else if (primary < 0 || (data.at(primary)->estimate && !data.last()->estimate))
            primary = di;
    }
    for (qsizetype di = 0; di < domains.size(); ++di) {
        const QString &domain = domains.at(di);
        const std::optional<ComparisonData> &d = data.at(di);
        if (!d)
            continue;
        QString error;
        const QString est = d->estimate ? u" ("_s + estimateMarker() + u')' : QString();
        const QString id = safeId(domain);
        out.append({u"energy-"_s + id, u"Net energy per phase, %1%2"_s.arg(domain, est),
                    u"Mean net energy per phase and variant over repetitions, with 95 % "
                    "bootstrap CI error bars (>= 2 repetitions)."_s,
                    d->estimate, renderPng(o, [&](QCustomPlot *p) {
                        ComparisonCharts::energyBars(p, *d, true);
                    })});
        out.append(
            {u"pareto-"_s + id, u"Accuracy vs net energy per inference, %1%2"_s.arg(domain, est),
             u"Top-1 accuracy against net energy per sample at batch %1; dashed: the "
             "Pareto front; dotted: the accuracy budget."_s.arg(d->batchSize),
             d->estimate, renderPng(o, [&](QCustomPlot *p) { ComparisonCharts::pareto(p, *d); })});
        // Break-even and proxy compare variants: nothing to show with one.
        const bool several = d->variants.size() >= 2;
        if (!several && di == primary)
            notes->append(u"The break-even and proxy charts are left out: they compare "
                          "variants, and only one has completed runs."_s);
        if (several)
            out.append({u"breakeven-"_s + id, u"Break-even, %1%2"_s.arg(domain, est),
                        u"Technique cost (prepare) plus inferences x net energy per inference at "
                        "batch %1; where a variant's line crosses the baseline's it has paid back "
                        "its cost."_s.arg(d->batchSize),
                        d->estimate,
                        renderPng(o, [&](QCustomPlot *p) { ComparisonCharts::breakEven(p, *d); })});
        if (di != primary)
            continue;
        if (several)
            out.append({u"proxy-macs-"_s + id,
                        u"MACs (proxy) vs net energy per inference, %1%2"_s.arg(domain, est),
                        u"Whether the proxy ranks the variants as the energy does (Pearson and "
                        "Spearman correlation in the title; n/a below 3 variants)."_s,
                        d->estimate, renderPng(o, [&](QCustomPlot *p) {
                            ComparisonCharts::proxyVsMeasured(p, *d, true);
                        })});
        // Power over time: the first completed run of each variant, aligned at the inference
        // phase the per-inference figures use.
        QList<qint64> runs;
        for (const VariantFigures &v : d->variants)
            if (!v.runIds.isEmpty())
                runs.append(v.runIds.first());
        const QString align = u"inference:b%1"_s.arg(d->batchSize);
        bool ok = true;
        const QByteArray png = renderPng(o, [&](QCustomPlot *p) {
            ok = ComparisonCharts::powerOverlay(p, store, runs, domain, align, 600, &error) >= 0;
        });
        if (ok)
            out.append({u"power-"_s + id, u"Power over time, %1%2"_s.arg(domain, est),
                        u"Power of the first completed run of each variant (min/max envelope "
                        "of the stored samples), aligned at the start of %1."_s.arg(align),
                        d->estimate, png});
        else
            notes->append(u"No power chart for domain %1: %2."_s.arg(domain, error));
    }
    return out;
}

QString runIdList(const db::ExperimentComparison &c)
{
    QStringList ids;
    for (const db::RunComparison &r : c.runs)
        ids.append(QString::number(r.run.id));
    return ids.join(u", "_s);
}

} // namespace

QString estimateMarker()
{
    return u"estimate"_s;
}

QString estimateLegend()
{
    return u"Figures marked \"estimate\" (tables: kind \"estimate\" and \"(estimate)\" in the "
           "title and column; charts: \"estimate\" in the title and axis) are modelled by the "
           "CPU-time estimator (TDP x CPU busy fraction), not measured by a hardware counter."_s;
}

std::optional<Document> buildDocument(const db::Store &store, qint64 experimentId,
                                      const Options &options, bool withCharts, QString *error)
{
    const std::optional<db::ExperimentComparison> c = store.comparison(experimentId, error);
    if (!c)
        return std::nullopt;
    const std::optional<ComparisonSummary> s = summarizeComparison(*c, error, options.resamples);
    if (!s)
        return std::nullopt;

    Document doc;
    doc.title =
        u"JouleBench report: experiment %1 \"%2\""_s.arg(c->experiment.id).arg(c->experiment.name);
    QMap<QString, int> status;
    for (const db::RunComparison &r : c->runs)
        ++status[db::runStatusName(r.run.status)];
    QStringList statusText;
    for (auto it = status.constBegin(); it != status.constEnd(); ++it)
        statusText.append(u"%1 %2"_s.arg(it.value()).arg(it.key()));
    QStringList domainText;
    for (const db::RunDomain &d : s->domains) {
        domainText.append(u"%1 (%2)"_s.arg(d.name, db::valueKindName(d.kind)));
        doc.anyEstimate = doc.anyEstimate || d.kind == db::ValueKind::Estimate;
    }
    doc.facts = {{u"Experiment"_s, u"%1 \"%2\""_s.arg(c->experiment.id).arg(c->experiment.name)},
                 {u"Created"_s, c->experiment.created},
                 {u"Plan hash"_s, c->experiment.planHash},
                 {u"Runs"_s, u"%1 (%2)"_s.arg(c->runs.size()).arg(statusText.join(u", "_s))},
                 {u"Energy domains"_s, domainText.join(u", "_s)},
                 {u"Database"_s, store.path()}};

    doc.methods = methodsStatement(*c, *s);
    doc.tables = comparisonTables(*s);
    doc.flags = flagRows(*s);
    doc.notes = s->notes;
    doc.notes.append(u"Variants marked \"(over budget)\" lost more accuracy than the budget; "
                     "their savings are not at iso-accuracy."_s);
    for (const db::RunComparison &r : c->runs)
        if (r.run.status != db::RunStatus::Completed)
            doc.notes.append(u"Run %1 (%2, %3, repetition %4) is %5%6"_s.arg(
                QString::number(r.run.id), r.run.key.variant, r.run.key.backend,
                QString::number(r.run.key.repetition), db::runStatusName(r.run.status),
                r.run.error.isEmpty() ? u"."_s : u": "_s + r.run.error));
    if (withCharts)
        doc.charts = renderCharts(store, *c, options, &doc.notes);

    const QString db = store.path();
    doc.rawData = {
        u"Database: %1 (SQLite; schema in docs/database.md), experiment %2, runs %3."_s.arg(db)
            .arg(c->experiment.id)
            .arg(runIdList(*c)),
        u"Per-phase energy per domain: tables phase and phase_energy; metrics: table metric; "
        "run totals per domain: table run_energy."_s,
        u"Raw cumulative energy samples: table sample_chunk (per run and domain; read with "
        "Store::readRaw / readSeries, bit-exact)."_s,
        u"Each run's environment and configuration: run.env_json and run.config_json, shown by "
        "joulebench-cli show --db %1 --run <id>."_s.arg(db),
        u"The plan: experiment.plan_json. This report again: joulebench-cli report --db %1 "
        "--experiment %2 --format html|pdf|md|csv --out <file>."_s.arg(db)
            .arg(c->experiment.id),
    };
    return doc;
}

} // namespace jb::report
