// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "database/store_types.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <optional>

namespace jb::report {

/// Mean over the completed repetitions of one variant, with a bootstrap 95 % CI when n >= 2.
struct Figure
{
    int n = 0;
    double mean = 0;
    std::optional<double> lower, upper;
    bool valid() const { return n > 0; }
};

/// One (variant, backend) cell of an experiment with the figures the comparison charts show.
/// Energies are of one domain; `estimate` when that domain's figures are estimates.
struct VariantFigures
{
    QString label;   ///< "variant @ backend" when the experiment has several backends
    bool baseline = false;
    QList<qint64> runIds;     ///< completed runs
    QStringList flags;        ///< union of the runs' flags
    QList<Figure> phaseNet;   ///< per ComparisonData::phases
    QList<Figure> phaseGross; ///< per ComparisonData::phases
    Figure accuracyPct;       ///< evaluate accuracy in percent
    Figure energyPerInferenceJ; ///< net J per sample at ComparisonData::batchSize
    Figure techniqueCostJ;      ///< net energy of the prepare phase (0 for the baseline)
    Figure macs;                ///< proxy: MACs per sample
    Figure params;              ///< proxy: parameter count
};

/// Everything the comparison views draw, computed from Store::comparison() (stored aggregates
/// only) for one energy domain. Pure data; reentrant.
struct ComparisonData
{
    QString domain;
    bool estimate = false;
    qint64 batchSize = 0;       ///< the inference batch size the per-inference figures use
    QStringList phases;         ///< train, prepare, evaluate, inference:b<N>... present
    QList<VariantFigures> variants; ///< baseline(s) first, then in first-run order
    double accuracyBudget = 1.0;    ///< points, from the stored plan

    /// Builds the data; `domain` empty = the first domain seen; `batchSize` 0 = the largest.
    static std::optional<ComparisonData> build(const db::ExperimentComparison &c,
                                               const QString &domain, qint64 batchSize,
                                               QString *error);
    /// Domains and inference batch sizes present in a comparison.
    static QStringList domainsOf(const db::ExperimentComparison &c);
    static QList<qint64> batchSizesOf(const db::ExperimentComparison &c);

    /// Indices of the variants on the Pareto front of (energy per inference: lower is
    /// better, accuracy: higher is better), sorted by energy.
    QList<int> paretoFront() const;
    /// Break-even: after how many inferences variant v (technique cost + per-inference energy)
    /// has used less energy in total than the baseline; nullopt when it never does.
    std::optional<double> breakEvenInferences(int v) const;
    /// The baseline variant's index (-1 when none completed).
    int baselineIndex() const;
};

/// Pearson correlation of paired values; NaN for fewer than 3 pairs or zero variance.
double pearson(const QList<double> &x, const QList<double> &y);
/// Spearman rank correlation (average ranks for ties); NaN as pearson.
double spearman(const QList<double> &x, const QList<double> &y);

} // namespace jb::report
