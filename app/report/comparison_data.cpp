// SPDX-License-Identifier: GPL-3.0-or-later
#include "comparison_data.h"

#include "measurement/statistics.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>
#include <QRegularExpression>

#include <algorithm>
#include <cmath>

namespace jb::report {

namespace {

constexpr int kResamples = 2000; // the charts' CI; `compare` uses the full 10000

Figure figureOf(const QList<double> &values)
{
    Figure f;
    f.n = int(values.size());
    if (values.isEmpty())
        return f;
    f.mean = stats::mean(values);
    if (values.size() >= 2) {
        QString err;
        if (auto ci = stats::bootstrapMeanCi(stats::view(values), &err, stats::kDefaultSeed,
                                              kResamples)) {
            f.lower = ci->lower;
            f.upper = ci->upper;
        }
    }
    return f;
}

const QRegularExpression &inferenceRe()
{
    static const QRegularExpression re(QStringLiteral("^inference:b(\\d+)$"));
    return re;
}

bool keptPhase(const QString &name)
{
    return name == QLatin1String("train") || name == QLatin1String("prepare") ||
           name == QLatin1String("evaluate") || inferenceRe().match(name).hasMatch();
}

} // namespace

QStringList ComparisonData::domainsOf(const db::ExperimentComparison &c)
{
    QStringList out;
    for (const db::RunComparison &r : c.runs)
        for (const db::RunEnergyRecord &e : r.totals)
            if (!out.contains(e.domain))
                out.append(e.domain);
    return out;
}

QList<qint64> ComparisonData::batchSizesOf(const db::ExperimentComparison &c)
{
    QList<qint64> out;
    for (const db::RunComparison &r : c.runs)
        for (const db::PhaseRecord &p : r.phases) {
            const auto m = inferenceRe().match(p.name);
            if (m.hasMatch() && !out.contains(m.captured(1).toLongLong()))
                out.append(m.captured(1).toLongLong());
        }
    std::sort(out.begin(), out.end());
    return out;
}

std::optional<ComparisonData> ComparisonData::build(const db::ExperimentComparison &c,
                                                    const QString &domainIn, qint64 batchSize,
                                                    QString *error)
{
    ComparisonData d;
    const QStringList domains = domainsOf(c);
    d.domain = domainIn.isEmpty() ? domains.value(0) : domainIn;
    if (d.domain.isEmpty()) {
        *error = QStringLiteral("experiment %1 has no run with energy figures yet").arg(c.experiment.id);
        return std::nullopt;
    }
    const QList<qint64> sizes = batchSizesOf(c);
    d.batchSize = batchSize > 0 ? batchSize : (sizes.isEmpty() ? 0 : sizes.last());
    d.accuracyBudget = QJsonDocument::fromJson(c.experiment.planJson)
                           .object()
                           .value(QStringLiteral("accuracyBudget"))
                           .toDouble(1.0);
    QSet<QString> backends;
    for (const db::RunComparison &r : c.runs)
        backends.insert(r.run.key.backend);

    // Group completed runs by (variant, backend), the baseline first.
    QStringList order;
    QMap<QString, QList<const db::RunComparison *>> groups;
    QMap<QString, bool> isBase;
    for (const db::RunComparison &r : c.runs) {
        if (r.run.status != db::RunStatus::Completed)
            continue;
        const QString key = backends.size() > 1
                                ? r.run.key.variant + QStringLiteral(" @ ") + r.run.key.backend
                                : r.run.key.variant;
        if (!groups.contains(key))
            order.append(key);
        groups[key].append(&r);
        isBase[key] = r.run.key.chainJson.trimmed() == "[]";
        for (const db::PhaseRecord &p : r.phases)
            if (keptPhase(p.name) && !d.phases.contains(p.name))
                d.phases.append(p.name);
    }
    std::stable_partition(order.begin(), order.end(), [&](const QString &k) { return isBase[k]; });
    // Phase order as the runner writes it.
    auto rank = [](const QString &p) {
        if (p == QLatin1String("train")) return 0;
        if (p == QLatin1String("prepare")) return 1;
        if (p == QLatin1String("evaluate")) return 2;
        return 3;
    };
    std::stable_sort(d.phases.begin(), d.phases.end(),
                     [&](const QString &a, const QString &b) { return rank(a) < rank(b); });
    if (!d.phases.contains(QStringLiteral("prepare")))
        d.phases.insert(std::min<qsizetype>(1, d.phases.size()), QStringLiteral("prepare"));

    const QString epi = QStringLiteral("energy_per_inference_j/") + d.domain;
    const QString infPhase = QStringLiteral("inference:b%1").arg(d.batchSize);
    for (const QString &key : order) {
        VariantFigures v;
        v.label = key;
        v.baseline = isBase[key];
        QList<QList<double>> net(d.phases.size()), gross(d.phases.size());
        QList<double> acc, perInf, cost, macs, params;
        for (const db::RunComparison *r : groups[key]) {
            v.runIds.append(r->run.id);
            for (const QString &f : r->run.flags)
                if (!v.flags.contains(f))
                    v.flags.append(f);
            QList<double> n(d.phases.size(), 0.0), g(d.phases.size(), 0.0);
            for (const db::PhaseRecord &p : r->phases) {
                const qsizetype i = d.phases.indexOf(p.name);
                if (i < 0)
                    continue;
                for (const db::PhaseEnergyRecord &e : p.energy)
                    if (e.domain == d.domain) {
                        n[i] = e.netJ;
                        g[i] = e.grossJ;
                        d.estimate = d.estimate || e.kind == db::ValueKind::Estimate;
                    }
            }
            for (qsizetype i = 0; i < d.phases.size(); ++i) {
                net[i].append(n[i]);
                gross[i].append(g[i]);
            }
            cost.append(n[d.phases.indexOf(QStringLiteral("prepare"))]);
            for (const db::MetricRecord &m : r->metrics) {
                if (m.name == QLatin1String("accuracy") && m.phase == QLatin1String("evaluate"))
                    acc.append(m.value * 100.0);
                else if (m.name == epi && m.phase == infPhase)
                    perInf.append(m.value);
                else if (m.name == QLatin1String("macs") && m.phase.isEmpty())
                    macs.append(m.value);
                else if (m.name == QLatin1String("params") && m.phase.isEmpty())
                    params.append(m.value);
            }
        }
        for (qsizetype i = 0; i < d.phases.size(); ++i) {
            v.phaseNet.append(figureOf(net.at(i)));
            v.phaseGross.append(figureOf(gross.at(i)));
        }
        v.accuracyPct = figureOf(acc);
        v.energyPerInferenceJ = figureOf(perInf);
        v.techniqueCostJ = figureOf(cost);
        v.macs = figureOf(macs);
        v.params = figureOf(params);
        d.variants.append(v);
    }
    if (d.variants.isEmpty()) {
        *error = QStringLiteral("experiment %1 has no completed run to compare").arg(c.experiment.id);
        return std::nullopt;
    }
    return d;
}

int ComparisonData::baselineIndex() const
{
    for (qsizetype i = 0; i < variants.size(); ++i)
        if (variants.at(i).baseline)
            return int(i);
    return -1;
}

QList<int> ComparisonData::paretoFront() const
{
    QList<int> idx;
    for (qsizetype i = 0; i < variants.size(); ++i)
        if (variants.at(i).accuracyPct.valid() && variants.at(i).energyPerInferenceJ.valid())
            idx.append(int(i));
    std::sort(idx.begin(), idx.end(), [this](int a, int b) {
        const double ea = variants.at(a).energyPerInferenceJ.mean,
                     eb = variants.at(b).energyPerInferenceJ.mean;
        return ea != eb ? ea < eb : variants.at(a).accuracyPct.mean > variants.at(b).accuracyPct.mean;
    });
    QList<int> front;
    double best = -std::numeric_limits<double>::infinity();
    for (int i : idx)
        if (variants.at(i).accuracyPct.mean > best) {
            front.append(i);
            best = variants.at(i).accuracyPct.mean;
        }
    return front;
}

std::optional<double> ComparisonData::breakEvenInferences(int v) const
{
    const int b = baselineIndex();
    if (b < 0 || v == b)
        return std::nullopt;
    const VariantFigures &base = variants.at(b), &var = variants.at(v);
    if (!base.energyPerInferenceJ.valid() || !var.energyPerInferenceJ.valid())
        return std::nullopt;
    const double saving = base.energyPerInferenceJ.mean - var.energyPerInferenceJ.mean;
    const double extra = var.techniqueCostJ.mean - base.techniqueCostJ.mean;
    if (saving <= 0)
        return std::nullopt;
    return std::max(0.0, extra / saving);
}

double pearson(const QList<double> &x, const QList<double> &y)
{
    const qsizetype n = std::min(x.size(), y.size());
    if (n < 3)
        return std::nan("");
    double mx = 0, my = 0;
    for (qsizetype i = 0; i < n; ++i) {
        mx += x[i];
        my += y[i];
    }
    mx /= double(n);
    my /= double(n);
    double sxy = 0, sxx = 0, syy = 0;
    for (qsizetype i = 0; i < n; ++i) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    if (sxx <= 0 || syy <= 0)
        return std::nan("");
    return sxy / std::sqrt(sxx * syy);
}

static QList<double> ranks(const QList<double> &v)
{
    QList<int> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](int a, int b) { return v[a] < v[b]; });
    QList<double> r(v.size());
    for (qsizetype i = 0; i < idx.size();) {
        qsizetype j = i;
        while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]])
            ++j;
        for (qsizetype k = i; k <= j; ++k)
            r[idx[k]] = double(i + j) / 2.0 + 1.0;
        i = j + 1;
    }
    return r;
}

double spearman(const QList<double> &x, const QList<double> &y)
{
    const qsizetype n = std::min(x.size(), y.size());
    return pearson(ranks(x.mid(0, n)), ranks(y.mid(0, n)));
}

} // namespace jb::report
