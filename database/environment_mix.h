// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "store_types.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

/// Whether compared runs come from the same machine and software: the environment record
/// each run stores (run.env_json, written by the runner: host, kernel, OS, memory, CPU,
/// cpufreq governor, software versions, BLAS, meters) reduced to what should be equal for a
/// fair comparison. Pure functions, any thread. See docs/cluster.md.
namespace jb::db {

/// The comparable part of one run's environment.
struct EnvironmentIdentity
{
    QString host; ///< "" when the record has none (e.g. an imported CodeCarbon row)
    /// host, kernel, os, memoryBytes, cpu, cpufreq governors/driver/min/max, software, blas,
    /// meters (id, kind, domains with kind and method). Left out: capture time, current
    /// frequencies, throttle counters, meter warnings.
    QJsonObject comparable;
    /// 16 hex digits of sha256 over `comparable` without the host.
    QString fingerprint;
};
EnvironmentIdentity environmentIdentity(const QByteArray &envJson);

/// What differs across a set of runs.
struct EnvironmentMix
{
    QStringList hosts;        ///< distinct hosts, sorted ("" shown as "unknown")
    QStringList fingerprints; ///< distinct fingerprints (host left out), sorted
    /// Dotted keys whose values differ between the runs, host excluded ("cpu.model",
    /// "software.revision", "meters"), sorted.
    QStringList differingKeys;

    bool mixedHosts() const { return hosts.size() > 1; }
    bool mixedEnvironments() const { return fingerprints.size() > 1; }
    /// "mixed-hosts" and/or "mixed-environment": the comparison flags.
    QStringList flags() const;
    /// "hosts a, b; differs: cpu.model, kernel" (empty when nothing differs).
    QString describe() const;
};
EnvironmentMix environmentMix(const QList<QByteArray> &envJsons);

/// The environment mix of the completed runs with these ids in `comparison` (e.g. a variant's
/// runs plus its baseline's, so a delta across machines is flagged).
EnvironmentMix environmentMix(const ExperimentComparison &comparison, const QList<qint64> &runIds);

} // namespace jb::db
