// SPDX-License-Identifier: GPL-3.0-or-later
#include "plan_grid.h"

#include <QCryptographicHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>

#include <random>

using namespace Qt::StringLiterals;

namespace jb {

namespace {

// std::uniform_int_distribution and std::shuffle differ between standard libraries; this
// draw (rejection sampling on mt19937_64, whose output the standard fixes) does not, so a
// shuffled plan runs in the same order everywhere.
quint64 drawBelow(std::mt19937_64 &rng, quint64 n)
{
    const quint64 limit = std::mt19937_64::max() - (std::mt19937_64::max() % n);
    quint64 x;
    do {
        x = rng();
    } while (x >= limit);
    return x % n;
}

} // namespace

QJsonObject gridEntryConfig(const Plan &plan, qsizetype variant, qsizetype backend)
{
    const QJsonObject p = plan.toJson();
    QJsonArray chain;
    for (const PlanStep &s : plan.variants.at(variant).chain)
        chain.append(QJsonObject{{u"plugin"_s, s.plugin}, {u"params"_s, s.params}});
    return QJsonObject{{u"configVersion"_s, 1},
                       {u"dataset"_s, p.value(u"dataset"_s)},
                       {u"model"_s, p.value(u"model"_s)},
                       {u"training"_s, p.value(u"training"_s)},
                       {u"chain"_s, chain},
                       {u"backend"_s, plan.backends.at(backend)},
                       {u"inference"_s, p.value(u"inference"_s)},
                       {u"measurement"_s, p.value(u"measurement"_s)}};
}

QString gridConfigKey(const QJsonObject &config)
{
    const QByteArray text = QJsonDocument(config).toJson(QJsonDocument::Compact);
    return QString::fromLatin1(
        QCryptographicHash::hash(text, QCryptographicHash::Sha256).toHex().left(16));
}

QList<GridEntry> expandGrid(const Plan &plan)
{
    struct Cell
    {
        qsizetype variant;
        qsizetype backend;
        QString key;
        QString baselineKey;
    };
    const qsizetype baseline = plan.baselineIndex();
    QList<Cell> cells;
    for (qsizetype b = 0; b < plan.backends.size(); ++b) {
        const QString baselineKey =
            baseline >= 0 ? gridConfigKey(gridEntryConfig(plan, baseline, b)) : QString();
        for (qsizetype v = 0; v < plan.variants.size(); ++v)
            cells.append({v, b, gridConfigKey(gridEntryConfig(plan, v, b)), baselineKey});
    }

    std::mt19937_64 rng(quint64(plan.seed));
    QList<GridEntry> grid;
    grid.reserve(cells.size() * plan.repetitions);
    QList<qsizetype> order(cells.size());
    for (qint64 r = 0; r < plan.repetitions; ++r) {
        for (qsizetype i = 0; i < cells.size(); ++i)
            order[i] = i;
        if (plan.order == PlanOrder::Shuffled) {
            for (qsizetype i = cells.size() - 1; i > 0; --i)
                std::swap(order[i], order[qsizetype(drawBelow(rng, quint64(i) + 1))]);
        }
        for (qsizetype i : std::as_const(order)) {
            const Cell &c = cells.at(i);
            GridEntry e;
            e.index = grid.size();
            e.variant = c.variant;
            e.backend = c.backend;
            e.repetition = r;
            e.label = plan.variants.at(c.variant).label;
            e.backendId = plan.backends.at(c.backend);
            e.configKey = c.key;
            e.baselineKey = c.baselineKey;
            e.baseline = (c.variant == baseline);
            grid.append(e);
        }
    }
    return grid;
}

std::optional<ShardSpec> parseShardSpec(const QString &text, QString *error)
{
    static const QRegularExpression re(u"^\\s*(\\d{1,6})\\s*/\\s*(\\d{1,6})\\s*$"_s);
    const auto m = re.match(text);
    if (!m.hasMatch()) {
        *error = u"shard \""_s + text +
                 u"\" is not I/N, expected e.g. 0/4 (shard 0 of 4; "
                 "shards count from 0)"_s;
        return std::nullopt;
    }
    ShardSpec s{m.captured(1).toInt(), m.captured(2).toInt()};
    if (s.count < 1) {
        *error = u"shard \""_s + text + u"\": the shard count is 0, expected at least 1"_s;
        return std::nullopt;
    }
    if (s.index >= s.count) {
        *error = u"shard \""_s + text +
                 u"\": the index %1 is not below the count %2, expected "
                 "0/%2 to %3/%2 (shards count from 0)"_s.arg(s.index)
                     .arg(s.count)
                     .arg(s.count - 1);
        return std::nullopt;
    }
    return s;
}

QList<GridEntry> shardOf(const QList<GridEntry> &grid, const ShardSpec &shard)
{
    QList<GridEntry> out;
    if (shard.count < 1 || shard.index < 0 || shard.index >= shard.count)
        return out;
    // Repetitions are numbered by first appearance, so a grid that is itself a shard or a
    // resumed remainder is dealt out the same way.
    QList<qint64> order;
    for (const GridEntry &e : grid)
        if (!order.contains(e.repetition))
            order.append(e.repetition);
    for (const GridEntry &e : grid)
        if (order.indexOf(e.repetition) % shard.count == shard.index)
            out.append(e);
    return out;
}

qsizetype shardRepetitionCount(const QList<GridEntry> &grid)
{
    QList<qint64> seen;
    for (const GridEntry &e : grid)
        if (!seen.contains(e.repetition))
            seen.append(e.repetition);
    return seen.size();
}

} // namespace jb
