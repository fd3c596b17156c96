// SPDX-License-Identifier: GPL-3.0-or-later
#include "comparison_charts.h"

#include "database/store.h"

#include "report/qcp.h"

#include <algorithm>
#include <cmath>

namespace jb::report {

namespace {

const QList<QColor> kColors{QColor(0x1e, 0x88, 0xe5), QColor(0xe5, 0x39, 0x35),
                            QColor(0x43, 0xa0, 0x47), QColor(0xfb, 0x8c, 0x00),
                            QColor(0x8e, 0x24, 0xaa), QColor(0x00, 0x89, 0x7b),
                            QColor(0x6d, 0x4c, 0x41), QColor(0x54, 0x6e, 0x7a)};

QColor color(qsizetype i)
{
    return kColors.at(i % kColors.size());
}

QString est(const ComparisonData &d)
{
    return d.estimate ? QStringLiteral(", estimate") : QString();
}

void reset(QCustomPlot *plot, const QString &title)
{
    plot->clearPlottables();
    plot->clearItems();
    plot->clearGraphs();
    if (plot->plotLayout()->rowCount() > 1)
        plot->plotLayout()->removeAt(0);
    plot->plotLayout()->simplify();
    plot->plotLayout()->insertRow(0);
    auto *t = new QCPTextElement(plot, title, QFont(plot->font().family(), 10, QFont::Bold));
    plot->plotLayout()->addElement(0, 0, t);
    plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    plot->xAxis->setScaleType(QCPAxis::stLinear);
    plot->legend->setVisible(true);
}

void ciBars(QCustomPlot *plot, QCPAbstractPlottable *on, const QVector<double> &mean,
            const QList<Figure> &figs, const QColor &c)
{
    QVector<double> lo, hi;
    bool any = false;
    for (qsizetype i = 0; i < figs.size(); ++i) {
        const Figure &f = figs.at(i);
        const bool has = f.lower && f.upper;
        any = any || has;
        lo.append(has ? mean.at(i) - *f.lower : std::nan(""));
        hi.append(has ? *f.upper - mean.at(i) : std::nan(""));
    }
    if (!any)
        return;
    auto *e = new QCPErrorBars(plot->xAxis, plot->yAxis);
    e->removeFromLegend();
    e->setDataPlottable(on);
    e->setData(lo, hi);
    e->setPen(QPen(c.darker(160), 1.2));
}

} // namespace

int ComparisonCharts::energyBars(QCustomPlot *plot, const ComparisonData &d, bool net)
{
    reset(plot, QObject::tr("Energy per phase (%1, %2%3), mean over repetitions, 95 % CI")
                    .arg(net ? QObject::tr("net") : QObject::tr("gross"), d.domain, est(d)));
    auto *group = new QCPBarsGroup(plot);
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (qsizetype p = 0; p < d.phases.size(); ++p)
        ticker->addTick(double(p + 1), d.phases.at(p));
    plot->xAxis->setTicker(ticker);
    const double width = 0.8 / std::max<qsizetype>(1, d.variants.size());
    for (qsizetype v = 0; v < d.variants.size(); ++v) {
        const VariantFigures &vf = d.variants.at(v);
        const QList<Figure> &figs = net ? vf.phaseNet : vf.phaseGross;
        QVector<double> x, y;
        for (qsizetype p = 0; p < figs.size(); ++p) {
            x.append(double(p + 1));
            y.append(figs.at(p).mean);
        }
        auto *bars = new QCPBars(plot->xAxis, plot->yAxis);
        bars->setName(QStringLiteral("%1 (n=%2)").arg(vf.label).arg(vf.runIds.size()));
        bars->setWidth(width);
        bars->setBarsGroup(group);
        bars->setPen(QPen(color(v).darker(130)));
        bars->setBrush(color(v));
        bars->setData(x, y, true);
        ciBars(plot, bars, y, figs, color(v));
    }
    plot->xAxis->setLabel(QObject::tr("phase"));
    plot->yAxis->setLabel(QObject::tr("%1 energy (J%2)")
                              .arg(net ? QObject::tr("net") : QObject::tr("gross"), est(d)));
    plot->rescaleAxes();
    plot->xAxis->setRange(0.4, d.phases.size() + 0.6);
    // Room above the bars for the legend (top right, one line per variant), so that with many
    // variants it does not cover the last phase's bars: lay out once, then keep the bars below
    // the legend's height.
    plot->replot();
    const double rectH = plot->axisRect()->height();
    const double free =
        rectH > 0 ? std::clamp(1.0 - (plot->legend->outerRect().height() + 40) / rectH, 0.35, 0.87)
                  : 0.87;
    const QCPRange data = plot->yAxis->range();
    const double upper = std::max(0.0, data.upper);
    // Negative net energies (power at the idle level) get a margin below too.
    const double lower = data.lower < 0 ? data.lower - 0.05 * (upper - data.lower) : 0.0;
    plot->yAxis->setRange(lower, lower + (upper - lower) / free);
    plot->replot();
    return int(d.variants.size());
}

int ComparisonCharts::pareto(QCustomPlot *plot, const ComparisonData &d)
{
    reset(plot, QObject::tr("Accuracy vs energy per inference (batch %1)").arg(d.batchSize));
    int points = 0;
    for (qsizetype v = 0; v < d.variants.size(); ++v) {
        const VariantFigures &vf = d.variants.at(v);
        if (!vf.accuracyPct.valid() || !vf.energyPerInferenceJ.valid())
            continue;
        QCPGraph *g = plot->addGraph();
        g->setName(vf.label);
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, color(v), 9));
        g->addData(vf.energyPerInferenceJ.mean * 1e3, vf.accuracyPct.mean);
        ++points;
        auto *label = new QCPItemText(plot);
        label->position->setCoords(vf.energyPerInferenceJ.mean * 1e3, vf.accuracyPct.mean);
        label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
        label->setText(QStringLiteral("  ") + vf.label);
    }
    const QList<int> front = d.paretoFront();
    if (front.size() >= 1) {
        QCPGraph *f = plot->addGraph();
        f->setName(QObject::tr("Pareto front"));
        f->setPen(QPen(QColor(0x42, 0x42, 0x42), 1.5, Qt::DashLine));
        for (int i : front)
            f->addData(d.variants.at(i).energyPerInferenceJ.mean * 1e3,
                       d.variants.at(i).accuracyPct.mean);
    }
    plot->xAxis->setLabel(
        QObject::tr("net energy per inference (mJ/sample, %1%2)").arg(d.domain, est(d)));
    plot->yAxis->setLabel(QObject::tr("top-1 accuracy (%)"));
    plot->rescaleAxes();
    const int b = d.baselineIndex();
    if (b >= 0 && d.variants.at(b).accuracyPct.valid()) {
        const double y = d.variants.at(b).accuracyPct.mean - d.accuracyBudget;
        auto *line = new QCPItemStraightLine(plot);
        line->point1->setCoords(0, y);
        line->point2->setCoords(1, y);
        line->setPen(QPen(QColor(0xd3, 0x2f, 0x2f), 1.2, Qt::DotLine));
        auto *t = new QCPItemText(plot);
        t->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
        t->position->setCoords(0.01, y);
        t->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
        t->setColor(QColor(0xd3, 0x2f, 0x2f));
        t->setText(QObject::tr("accuracy budget (baseline − %1 points)").arg(d.accuracyBudget));
        plot->yAxis->setRange(std::min(plot->yAxis->range().lower, y) - 1,
                              plot->yAxis->range().upper + 1);
    }
    const QCPRange xr = plot->xAxis->range();
    plot->xAxis->setRange(xr.lower - 0.1 * xr.size() - 1e-6, xr.upper + 0.3 * xr.size() + 1e-6);
    plot->replot();
    return points;
}

int ComparisonCharts::proxyVsMeasured(QCustomPlot *plot, const ComparisonData &d, bool useMacs,
                                      double *pearsonR, double *spearmanR)
{
    QList<double> x, y;
    for (const VariantFigures &vf : d.variants) {
        const Figure &p = useMacs ? vf.macs : vf.params;
        if (p.valid() && vf.energyPerInferenceJ.valid()) {
            x.append(p.mean);
            y.append(vf.energyPerInferenceJ.mean * 1e3);
        }
    }
    const double r = pearson(x, y), rho = spearman(x, y);
    if (pearsonR)
        *pearsonR = r;
    if (spearmanR)
        *spearmanR = rho;
    auto fmt = [](double v) {
        return std::isnan(v) ? QStringLiteral("n/a (< 3 variants)") : QString::number(v, 'f', 3);
    };
    reset(plot,
          QObject::tr("Proxy vs measured: Pearson r = %1, Spearman ρ = %2").arg(fmt(r), fmt(rho)));
    QCPGraph *g = plot->addGraph();
    g->setName(useMacs ? QObject::tr("variants (MACs, proxy)")
                       : QObject::tr("variants (parameters, proxy)"));
    g->setLineStyle(QCPGraph::lsNone);
    g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color(0), 9));
    for (qsizetype i = 0; i < x.size(); ++i)
        g->addData(x.at(i), y.at(i));
    plot->xAxis->setLabel(useMacs ? QObject::tr("MACs per sample (proxy)")
                                  : QObject::tr("parameters (proxy)"));
    plot->yAxis->setLabel(
        QObject::tr("net energy per inference (mJ/sample, %1%2)").arg(d.domain, est(d)));
    plot->rescaleAxes();
    const QCPRange xr = plot->xAxis->range(), yr = plot->yAxis->range();
    plot->xAxis->setRange(xr.lower - 0.1 * xr.size() - 1, xr.upper + 0.1 * xr.size() + 1);
    plot->yAxis->setRange(yr.lower - 0.1 * yr.size() - 1e-3, yr.upper + 0.1 * yr.size() + 1e-3);
    plot->replot();
    return int(x.size());
}

int ComparisonCharts::breakEven(QCustomPlot *plot, const ComparisonData &d)
{
    reset(plot, QObject::tr("Break-even: technique cost + inferences × energy per inference"));
    double maxN = 1000;
    for (qsizetype v = 0; v < d.variants.size(); ++v)
        if (auto n = d.breakEvenInferences(int(v)))
            maxN = std::max(maxN, *n * 2.0);
    int lines = 0;
    for (qsizetype v = 0; v < d.variants.size(); ++v) {
        const VariantFigures &vf = d.variants.at(v);
        if (!vf.energyPerInferenceJ.valid())
            continue;
        QCPGraph *g = plot->addGraph();
        g->setName(vf.label);
        g->setPen(QPen(color(v), 2));
        const double cost = vf.techniqueCostJ.valid() ? vf.techniqueCostJ.mean : 0.0;
        g->addData(0, cost);
        g->addData(maxN, cost + maxN * vf.energyPerInferenceJ.mean);
        ++lines;
        if (auto n = d.breakEvenInferences(int(v))) {
            const double e = cost + *n * vf.energyPerInferenceJ.mean;
            auto *t = new QCPItemText(plot);
            t->position->setCoords(*n, e);
            t->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
            t->setText(QObject::tr("%1 breaks even after %2 inferences ")
                           .arg(vf.label)
                           .arg(*n, 0, 'g', 4));
            auto *dot = new QCPItemTracer(plot);
            dot->position->setCoords(*n, e);
            dot->setStyle(QCPItemTracer::tsCircle);
            dot->setSize(8);
            dot->setPen(QPen(color(v).darker(150)));
        }
    }
    plot->xAxis->setLabel(QObject::tr("number of inferences (samples)"));
    plot->yAxis->setLabel(QObject::tr("cumulative net energy (J, %1%2)").arg(d.domain, est(d)));
    plot->rescaleAxes();
    plot->replot();
    return lines;
}

namespace {

/// One run's power envelope on the aligned time axis (time minus the start of alignPhase).
struct OverlaySeries
{
    QVector<double> t, mean, lo, hi;
    bool estimate = false;
};

bool readOverlaySeries(const db::Store &store, qint64 runId, const QString &domain,
                       const QString &alignPhase, double t0, double t1, int maxPoints,
                       OverlaySeries *out, QString *error)
{
    double shift = 0;
    const auto phases = store.phases(runId, error);
    if (!phases)
        return false;
    for (const db::PhaseRecord &p : *phases)
        if (p.name == alignPhase) {
            shift = p.tStart;
            break;
        }
    const std::optional<db::PowerSeries> s =
        store.readSeries(runId, domain, t0 + shift, t1 + shift, maxPoints, error);
    if (!s)
        return false;
    out->estimate = s->kind == db::ValueKind::Estimate;
    for (const db::PowerBucket &b : s->buckets) {
        out->t.append((b.tStart + b.tEnd) / 2.0 - shift);
        out->mean.append(b.meanW);
        out->lo.append(b.minW);
        out->hi.append(b.maxW);
    }
    return true;
}

} // namespace

int ComparisonCharts::powerOverlay(QCustomPlot *plot, const db::Store &store,
                                   const QList<qint64> &runIds, const QString &domain,
                                   const QString &alignPhase, int maxPoints, QString *error)
{
    reset(plot, QObject::tr("Power over time, aligned at the start of phase '%1'").arg(alignPhase));
    bool anyEstimate = false;
    int drawn = 0;
    for (qsizetype i = 0; i < runIds.size(); ++i) {
        const qint64 id = runIds.at(i);
        OverlaySeries o;
        if (!readOverlaySeries(store, id, domain, alignPhase,
                               -std::numeric_limits<double>::infinity(),
                               std::numeric_limits<double>::infinity(), maxPoints, &o, error))
            return -1;
        const bool e = o.estimate;
        anyEstimate = anyEstimate || e;
        const QVector<double> &t = o.t, &mean = o.mean, &lo = o.lo, &hi = o.hi;
        // Min and max as thin light lines, not a filled band: QCustomPlot's channel fill of a
        // 2000-bucket envelope costs ~2.4 s per replot, lines ~12 ms (bench_gui_series).
        QColor light = color(i);
        light.setAlpha(90);
        QCPGraph *low = plot->addGraph();
        low->setData(t, lo, true);
        low->setPen(QPen(light, 1));
        low->removeFromLegend();
        QCPGraph *high = plot->addGraph();
        high->setData(t, hi, true);
        high->setPen(QPen(light, 1));
        high->removeFromLegend();
        QCPGraph *g = plot->addGraph();
        g->setData(t, mean, true);
        g->setPen(QPen(color(i), 1.5));
        g->setName(QObject::tr("run %1%2").arg(id).arg(e ? QObject::tr(" (estimate)") : QString()));
        ++drawn;
    }
    plot->xAxis->setLabel(QObject::tr("time from the start of '%1' (s)").arg(alignPhase));
    plot->yAxis->setLabel(QObject::tr("power, %1 (W%2; thin lines = min/max)")
                              .arg(domain, anyEstimate ? QObject::tr(", estimate") : QString()));
    plot->rescaleAxes();
    plot->replot();
    return drawn;
}

bool ComparisonCharts::refineOverlay(QCustomPlot *plot, const db::Store &store,
                                     const QList<qint64> &runIds, const QString &domain,
                                     const QString &alignPhase, int maxPoints, QString *error)
{
    // powerOverlay() adds three graphs per run, in order: min, max, mean.
    if (plot->graphCount() != 3 * runIds.size())
        return true; // not an overlay drawn for these runs (nothing to refine)
    const QCPRange visible = plot->xAxis->range();
    for (qsizetype i = 0; i < runIds.size(); ++i) {
        OverlaySeries o;
        if (!readOverlaySeries(store, runIds.at(i), domain, alignPhase, visible.lower,
                               visible.upper, maxPoints, &o, error))
            return false;
        plot->graph(int(3 * i))->setData(o.t, o.lo, true);
        plot->graph(int(3 * i + 1))->setData(o.t, o.hi, true);
        plot->graph(int(3 * i + 2))->setData(o.t, o.mean, true);
    }
    plot->replot(QCustomPlot::rpQueuedReplot);
    return true;
}

} // namespace jb::report
