// SPDX-License-Identifier: GPL-3.0-or-later
// bench_gui_series: builds a run of 10,000,000 samples (1 kHz for 10,000 s) in a temporary
// database, then measures what the results browser does with it: readSeries (min/max
// envelope, <= 2000 buckets) + setData + replot of an offscreen 1400x700 QCustomPlot, for the
// whole run and for zoom windows (refinement reads finer levels). Target: < 25 ms per replot.
// For reference, one replot with all 10M raw points handed to QCustomPlot.
#include "database/sample_writer.h"
#include "database/store.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QTemporaryDir>

#include "gui/qcp.h"

#include <algorithm>
#include <cstdio>

using namespace jb::db;

namespace {

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

struct Timing
{
    double readMs, drawMs;
    qsizetype buckets;
    int level;
};

Timing show(QCustomPlot &plot, const Store &store, qint64 run, double t0, double t1)
{
    QElapsedTimer c;
    c.start();
    QString error;
    const auto s = store.readSeries(run, QStringLiteral("package-0"), t0, t1, 2000, &error);
    if (!s)
        qFatal("%s", qPrintable(error));
    const double readMs = c.nsecsElapsed() / 1e6;
    c.restart();
    QVector<double> t, lo, hi, mean;
    for (const PowerBucket &b : s->buckets) {
        t.append((b.tStart + b.tEnd) / 2);
        lo.append(b.minW);
        hi.append(b.maxW);
        mean.append(b.meanW);
    }
    plot.graph(0)->setData(t, lo, true);
    plot.graph(1)->setData(t, hi, true);
    plot.graph(2)->setData(t, mean, true);
    plot.xAxis->setRange(t0 < -1e300 ? 0 : t0, t1 > 1e300 ? 10000 : t1);
    plot.yAxis->rescale();
    plot.replot(QCustomPlot::rpImmediateRefresh);
    return {readMs, c.nsecsElapsed() / 1e6, s->buckets.size(), s->level};
}

} // namespace

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    constexpr qint64 kSamples = 10'000'000;
    QTemporaryDir dir;
    const QString path = dir.filePath(QStringLiteral("bench.sqlite"));
    Store store;
    QString error;
    if (!store.open(path, Store::OpenMode::ReadWrite, &error))
        qFatal("%s", qPrintable(error));
    const qint64 exp = *store.createExperiment(QStringLiteral("bench"), "{}", QStringLiteral("x"), &error);
    const qint64 run = *store.createRun(exp, RunKey{QStringLiteral("v"), "[]", QStringLiteral("cpu"), 0,
                                                    QStringLiteral("k")}, "{}", "{}", &error);
    QElapsedTimer c;
    c.start();
    {
        auto w = store.sampleWriter(run, &error);
        const int ch = *w->addDomain({0, QStringLiteral("package-0"), ValueKind::Measured,
                                      QStringLiteral("rapl-powercap")}, &error);
        double j = 0;
        for (qint64 i = 0; i < kSamples; ++i) {
            const double p = 20.0 + 10.0 * ((i / 5000) % 4) + (i % 97) * 0.05; // phases + ripple
            j += p * 0.001;
            w->append(ch, double(i) * 0.001, j);
        }
        if (!w->flush(&error))
            qFatal("%s", qPrintable(error));
    }
    store.finishRun(run, RunStatus::Completed, {}, QString(), &error);
    std::printf("built %lld samples in %.1f s\n", static_cast<long long>(kSamples), c.elapsed() / 1000.0);

    QCustomPlot plot;
    plot.resize(1400, 700);
    for (int i = 0; i < 3; ++i)
        plot.addGraph();
    plot.graph(1)->setChannelFillGraph(plot.graph(0));
    plot.graph(1)->setBrush(QColor(30, 136, 229, 50));
    const double inf = std::numeric_limits<double>::infinity();

    struct Window { const char *name; double t0, t1; };
    const Window windows[] = {{"whole run (10,000 s)", -inf, inf},
                              {"zoom 10 % (1,000 s)", 4000, 5000},
                              {"zoom 1 % (100 s)", 4500, 4600},
                              {"zoom 0.01 % (1 s)", 4500, 4501}};
    for (int mode = 0; mode < 2; ++mode) {
    if (mode == 1) { // the same without the filled min/max band: lines only
        plot.graph(1)->setChannelFillGraph(nullptr);
        plot.graph(1)->setBrush(Qt::NoBrush);
    }
    std::printf("%s\n%-24s %8s %6s %10s %10s %10s\n",
                mode == 0 ? "min/max band filled (QCPGraph channel fill) + mean line"
                          : "min, max and mean as lines (no fill)",
                "window", "buckets", "level", "read ms", "draw ms", "total ms");
    for (const Window &win : windows) {
        std::vector<double> r, d;
        Timing last{};
        for (int rep = 0; rep < 15; ++rep) {
            last = show(plot, store, run, win.t0, win.t1);
            r.push_back(last.readMs);
            d.push_back(last.drawMs);
        }
        std::printf("%-24s %8lld %6d %10.2f %10.2f %10.2f\n", win.name,
                    static_cast<long long>(last.buckets), last.level, median(r), median(d),
                    median(r) + median(d));
    }
    }
    // Reference: everything raw into QCustomPlot.
    QString err;
    const auto raw = store.readRaw(run, QStringLiteral("package-0"), -inf, inf, &err);
    QVector<double> t, p;
    t.reserve(raw->size());
    p.reserve(raw->size());
    for (qsizetype i = 1; i < raw->size(); ++i) {
        t.append(raw->at(i).t);
        p.append((raw->at(i).joules - raw->at(i - 1).joules) / (raw->at(i).t - raw->at(i - 1).t));
    }
    plot.graph(0)->data()->clear();
    plot.graph(1)->data()->clear();
    c.restart();
    plot.graph(2)->setData(t, p, true);
    const double setMs = c.nsecsElapsed() / 1e6;
    c.restart();
    plot.xAxis->setRange(0, 10000);
    plot.replot(QCustomPlot::rpImmediateRefresh);
    std::printf("reference: 10M raw points: setData %.0f ms, one replot %.0f ms (adaptive sampling)\n",
                setMs, c.nsecsElapsed() / 1e6);
    return 0;
}
