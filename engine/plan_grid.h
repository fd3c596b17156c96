// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "plan.h"

#include <QJsonObject>
#include <QList>
#include <QString>

#include <optional>

namespace jb {

/// One run of an experiment: a variant (technique chain) on a backend, repetition r.
/// The inference batch sizes are not a grid axis: every run measures all of them (see
/// docs/plan-format.md, "Grid").
struct GridEntry
{
    qsizetype index = 0;   ///< position in the whole grid's run order (kept in shards)
    qsizetype variant = 0; ///< index into Plan::variants
    qsizetype backend = 0; ///< index into Plan::backends
    qint64 repetition = 0; ///< 0-based; runs with the same index are paired in comparisons
    QString label;         ///< the variant's label
    QString backendId;     ///< the backend string, e.g. "cpu:2"
    /// 16 hex digits of sha256 over the entry's normalised config (gridEntryConfig), which
    /// leaves out the repetition, labels, name and order: the same measurement has the same
    /// key across shards, resumes and renamed variants.
    QString configKey;
    /// configKey of the baseline variant on the same backend (== configKey for the baseline).
    QString baselineKey;

    bool baseline = false; ///< the variant is the baseline (empty chain)

    bool operator==(const GridEntry &) const = default;
};

/// The normalised config of one grid cell: everything that changes what is measured
/// (dataset, model, training, chain with filled params, backend, inference workload,
/// measurement settings), under "configVersion": 1. Not the repetition, the labels, the
/// plan name, the order, the accuracy budget or the cache switch.
QJsonObject gridEntryConfig(const Plan &plan, qsizetype variant, qsizetype backend);
/// The key of a config: the first 16 hex digits of sha256 over its compact sorted JSON.
QString gridConfigKey(const QJsonObject &config);

/// All runs of a plan in execution order: repetition rounds one after the other; within a
/// round every (backend, variant) cell once, backends outer and variants inner (so the
/// baseline and its variants run back to back on each backend: A B C A B C ...). With
/// PlanOrder::Shuffled each round is a seeded permutation of the cells (same seed, same
/// order, on every platform). Size = variants x backends x repetitions.
/// Threads: reentrant.
QList<GridEntry> expandGrid(const Plan &plan);

/// `--shard I/N`: I counts from 0, 0 <= I < N.
struct ShardSpec
{
    int index = 0;
    int count = 1;
    bool operator==(const ShardSpec &) const = default;
};

/// Parses "I/N"; nullopt with *error naming the text and the fix.
std::optional<ShardSpec> parseShardSpec(const QString &text, QString *error);

/// The runs of one shard: whole repetitions, dealt out round robin (shard I gets repetitions
/// I, I + N, I + 2N, ...), in the grid's run order. A repetition (every variant on every
/// backend) stays on one shard, so each variant is measured on the same node as the baseline
/// it is paired with, and the shard keeps the interleaved order. The shards 0..count-1
/// partition the grid; a shard is empty when count exceeds the repetitions (see
/// shardRepetitionCount). Entries keep their grid index and config key.
QList<GridEntry> shardOf(const QList<GridEntry> &grid, const ShardSpec &shard);

/// The number of shards that get runs: the number of distinct repetitions in `grid`.
qsizetype shardRepetitionCount(const QList<GridEntry> &grid);

} // namespace jb
