// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "comparison_data.h"

class QCustomPlot;

namespace jb::db {
class Store;
}

namespace jb::report {

/// Draws the comparison views into a QCustomPlot (cleared first). Axis titles and legends say
/// "estimate" when the domain's figures are estimates. GUI thread only.
class ComparisonCharts
{
public:
    /// Grouped bars: x = phase, one bar series per variant, 95 % CI error bars where a
    /// variant has >= 2 repetitions. Returns the number of bar series.
    static int energyBars(QCustomPlot *plot, const ComparisonData &d, bool net);
    /// Accuracy (%) vs net energy per inference; the Pareto front as a line, the accuracy
    /// budget (baseline accuracy - budget) as a horizontal line. Returns the points drawn.
    static int pareto(QCustomPlot *plot, const ComparisonData &d);
    /// Proxy (MACs or parameters) vs measured net energy per inference, with Pearson and
    /// Spearman correlation in the title. Returns the points drawn; *pearsonR, *spearmanR.
    static int proxyVsMeasured(QCustomPlot *plot, const ComparisonData &d, bool useMacs,
                               double *pearsonR = nullptr, double *spearmanR = nullptr);
    /// Cumulative energy vs inferences: technique cost + N x energy per inference per variant,
    /// break-even points with the baseline labelled. Returns the lines drawn.
    static int breakEven(QCustomPlot *plot, const ComparisonData &d);
    /// Power over time of runs read from the store (min/max envelope, readSeries), each
    /// shifted so that its `alignPhase` starts at t = 0. Returns the graphs drawn (or -1 with
    /// *error).
    static int powerOverlay(QCustomPlot *plot, const db::Store &store, const QList<qint64> &runIds,
                            const QString &domain, const QString &alignPhase, int maxPoints,
                            QString *error);
    /// Zoom refinement of a chart drawn by powerOverlay(): re-reads each run's min/max power
    /// envelope for the visible time window only (at up to maxPoints buckets), so zooming in
    /// shows finer detail instead of stretched buckets. Keeps the axes as they are.
    static bool refineOverlay(QCustomPlot *plot, const db::Store &store,
                              const QList<qint64> &runIds, const QString &domain,
                              const QString &alignPhase, int maxPoints, QString *error);
};

} // namespace jb::report
