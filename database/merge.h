// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "store_types.h"

#include <QStringList>

#include <optional>

namespace jb::db {

/// Merges shard databases (e.g. the part-I.sqlite files of a Slurm job array) into outPath,
/// which is created when missing. Each input is opened read-only and never modified.
///
/// Rules: an experiment is identified by its plan hash, a run by (plan hash, configuration
/// key, repetition). A run whose key is already in OUT is skipped, except that a completed
/// run replaces an unfinished copy (failed, cancelled, interrupted). Runs still running
/// with a live owner on this host are skipped (merge again when they end); runs found
/// running with a dead or unknown owner (another host) are copied as interrupted. Samples
/// are copied chunk by chunk, aggregates as stored. A copied run's "reused_from_run" metric
/// (a run id) is renumbered to that run's id in OUT. Each input is merged in one transaction.
///
/// Threads: opens its own connections on the calling thread. Returns the summed counts.
std::optional<MergeCounts> mergeDatabases(const QString &outPath, const QStringList &inPaths,
                                          QString *error);

} // namespace jb::db
