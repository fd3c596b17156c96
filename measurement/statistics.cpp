// SPDX-License-Identifier: GPL-3.0-or-later
#include "statistics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace jb::stats {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

double mean(std::span<const double> values)
{
    if (values.empty())
        return kNaN;
    double sum = 0;
    for (double v : values)
        sum += v;
    return sum / static_cast<double>(values.size());
}

double standardDeviation(std::span<const double> values)
{
    if (values.size() < 2)
        return kNaN;
    const double m = mean(values);
    double ss = 0;
    for (double v : values)
        ss += (v - m) * (v - m);
    return std::sqrt(ss / static_cast<double>(values.size() - 1));
}

double quantileSorted(std::span<const double> sorted, double p)
{
    if (sorted.empty())
        return kNaN;
    p = std::clamp(p, 0.0, 1.0);
    const double h = static_cast<double>(sorted.size() - 1) * p;
    const size_t lo = static_cast<size_t>(std::floor(h));
    const size_t hi = std::min(lo + 1, sorted.size() - 1);
    return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

double idlePowerW(double idleJoules, double idleDurationS)
{
    return idleDurationS > 0 ? idleJoules / idleDurationS : kNaN;
}

double netEnergyJ(double grossJoules, double idlePowerW, double durationS)
{
    return grossJoules - idlePowerW * durationS;
}

std::optional<ConfidenceInterval> bootstrapMeanCi(std::span<const double> values, QString *error,
                                                  quint64 seed, int resamples, double level)
{
    if (values.empty()) {
        *error = QStringLiteral("bootstrap of an empty sample");
        return std::nullopt;
    }
    if (resamples < 1) {
        *error = QStringLiteral("bootstrap needs at least one resample, got %1").arg(resamples);
        return std::nullopt;
    }
    if (!(level > 0 && level < 1)) {
        *error = QStringLiteral("confidence level %1 is outside (0, 1)").arg(level);
        return std::nullopt;
    }
    std::mt19937_64 rng(seed);
    const size_t n = values.size();
    std::vector<double> means(static_cast<size_t>(resamples));
    for (double &m : means) {
        double sum = 0;
        for (size_t i = 0; i < n; ++i) {
            const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53; // [0, 1)
            sum += values[static_cast<size_t>(u * static_cast<double>(n))];
        }
        m = sum / static_cast<double>(n);
    }
    std::sort(means.begin(), means.end());
    ConfidenceInterval ci;
    ci.estimate = mean(values);
    ci.level = level;
    ci.resamples = resamples;
    ci.lower = quantileSorted(means, (1.0 - level) / 2.0);
    ci.upper = quantileSorted(means, (1.0 + level) / 2.0);
    return ci;
}

std::optional<ConfidenceInterval> pairedDifferenceCi(std::span<const double> baseline,
                                                     std::span<const double> variant,
                                                     QString *error, quint64 seed, int resamples,
                                                     double level)
{
    if (baseline.size() != variant.size()) {
        *error = QStringLiteral("paired difference needs as many variant as baseline "
                                "repetitions, got %1 and %2")
                     .arg(variant.size())
                     .arg(baseline.size());
        return std::nullopt;
    }
    std::vector<double> diff(baseline.size());
    for (size_t i = 0; i < diff.size(); ++i)
        diff[i] = variant[i] - baseline[i];
    return bootstrapMeanCi(diff, error, seed, resamples, level);
}

} // namespace jb::stats
