// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QList>
#include <QString>

#include <optional>
#include <span>
#include <vector>

/// Statistics over repetitions of a measurement (definitions in docs/measurement.md).
/// Pure functions, callable from any thread. Each takes a std::span<const double>, so both
/// std::vector<double> and QList<double> can be passed (overloads below).
namespace jb::stats {

/// A confidence interval around an estimate.
struct ConfidenceInterval
{
    double estimate = 0; ///< the statistic on the original data (mean, or mean difference)
    double lower = 0;
    double upper = 0;
    double level = 0.95;
    int resamples = 0; ///< bootstrap resamples used
};

inline constexpr int kDefaultResamples = 10000;
inline constexpr quint64 kDefaultSeed = 20240601;

/// Arithmetic mean; NaN for no values.
double mean(std::span<const double> values);
/// Sample standard deviation, divisor n - 1; NaN for fewer than two values.
double standardDeviation(std::span<const double> values);
/// Quantile of sorted values by linear interpolation between order statistics
/// (Hyndman-Fan type 7, as R's default and numpy's "linear"): h = (n - 1) p,
/// q = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]). NaN for no values.
double quantileSorted(std::span<const double> sorted, double p);

/// Average idle power: energy measured over an idle window divided by its duration.
double idlePowerW(double idleJoules, double idleDurationS);
/// Net energy of a phase: gross - idle power x duration.
double netEnergyJ(double grossJoules, double idlePowerW, double durationS);

/// Percentile bootstrap CI of the mean: `resamples` resamples of n values drawn with
/// replacement (std::mt19937_64 seeded with `seed`; index = floor(u * n) with u a 53-bit
/// uniform in [0,1), so the result is the same on every platform), the CI bounds being the
/// (1-level)/2 and (1+level)/2 quantiles (quantileSorted) of the resample means.
/// Errors: no values, resamples < 1, level outside (0, 1).
std::optional<ConfidenceInterval> bootstrapMeanCi(std::span<const double> values, QString *error,
                                                  quint64 seed = kDefaultSeed,
                                                  int resamples = kDefaultResamples,
                                                  double level = 0.95);
/// Paired-difference CI: the differences variant[i] - baseline[i] (paired by repetition index)
/// put through bootstrapMeanCi. Error when the lengths differ or are zero.
std::optional<ConfidenceInterval> pairedDifferenceCi(std::span<const double> baseline,
                                                     std::span<const double> variant,
                                                     QString *error, quint64 seed = kDefaultSeed,
                                                     int resamples = kDefaultResamples,
                                                     double level = 0.95);

inline std::span<const double> view(const std::vector<double> &v)
{
    return {v.data(), v.size()};
}
inline std::span<const double> view(const QList<double> &v)
{
    return {v.constData(), static_cast<size_t>(v.size())};
}
inline double mean(const QList<double> &v)
{
    return mean(view(v));
}
inline double mean(const std::vector<double> &v)
{
    return mean(view(v));
}
inline double standardDeviation(const QList<double> &v)
{
    return standardDeviation(view(v));
}
inline double standardDeviation(const std::vector<double> &v)
{
    return standardDeviation(view(v));
}

} // namespace jb::stats
