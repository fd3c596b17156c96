// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QByteArray>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

#include <limits>
#include <optional>

/// Value types of the SQLite store (database/store.h). Plain data, copyable, no Qt Sql.
namespace jb::db {

/// Where a number comes from. Text spelling ("measured", "estimate", "proxy", "computed") is
/// what the database, JSON and reports use. Energy domains are only Measured or Estimate.
enum class ValueKind {
    Measured, ///< read from a hardware counter (RAPL, NVML, ...)
    Estimate, ///< modelled (e.g. TDP x utilisation); always shown as "estimate"
    Proxy,    ///< a stand-in for energy (MACs, parameter count, runtime)
    Computed, ///< derived from other stored values (accuracy, latency, energy per inference)
};
QString valueKindName(ValueKind kind);
/// Parses the text spelling; std::nullopt for anything else.
std::optional<ValueKind> valueKindFromName(const QString &name);

/// Life cycle of a run: Running -> Completed | Failed | Cancelled, and Interrupted for a run
/// found Running whose owning process is gone (set at the next read-write open). A run leaves
/// Running exactly once.
enum class RunStatus { Running, Completed, Failed, Cancelled, Interrupted };
QString runStatusName(RunStatus status);
std::optional<RunStatus> runStatusFromName(const QString &name);

/// "No value" for optional doubles in records (e.g. energy of a domain without samples).
inline constexpr double NoValue = std::numeric_limits<double>::quiet_NaN();

struct ExperimentRecord
{
    qint64 id = 0;
    QString name;
    QByteArray planJson; ///< UTF-8 JSON text of the plan, as given
    QString planHash;    ///< stable hash of the plan; identifies the experiment across shards
    QString created;     ///< ISO 8601 UTC
};

/// What a run measures. (planHash of its experiment, configKey, repetition) is the stable key
/// that identifies a run across databases (merge, resume).
struct RunKey
{
    QString variant; ///< human label, e.g. "resnet18 + prune(0.5) + int8"
    QByteArray chainJson = QByteArrayLiteral("[]"); ///< technique chain as UTF-8 JSON
    QString backend;                                ///< e.g. "cpu:4"
    int repetition = 0;                             ///< 0-based
    QString configKey; ///< stable key of the configuration without the repetition
};

/// The process that owns a Running run, so a later open can tell a live run from a dead one.
struct RunOwner
{
    qint64 pid = 0;
    QString host;
    QString token; ///< boot id + process start time, guards against pid reuse
};

struct RunRecord
{
    qint64 id = 0;
    qint64 experimentId = 0;
    RunKey key;
    QByteArray configJson;
    QByteArray envJson;
    RunStatus status = RunStatus::Running;
    /// True when the database still says "running" but the owner process is gone, so status
    /// reads Interrupted without the database having been updated yet (read-only open, or the
    /// owner died after this Store was opened).
    bool statusDerived = false;
    QStringList flags;
    QString error;   ///< why it failed, was cancelled or interrupted; empty otherwise
    QString started; ///< ISO 8601 UTC
    QString ended;   ///< ISO 8601 UTC, empty while running
    RunOwner owner;
};

/// One energy domain of a run (table run_domain): every stored figure knows its kind.
struct RunDomain
{
    qint64 id = 0;
    QString name;                         ///< e.g. "package-0", "gpu-0"
    ValueKind kind = ValueKind::Measured; ///< Measured or Estimate
    QString meterId;                      ///< e.g. "rapl-powercap"
};

struct PhaseEnergyRecord
{
    QString domain;
    double grossJ = 0; ///< energy counted in the phase
    double netJ = 0;   ///< grossJ minus the idle baseline over the phase duration
    ValueKind kind = ValueKind::Measured;
    double avgPowerW = 0;
};

struct PhaseRecord
{
    qint64 id = 0;
    QString name;      ///< "baseline", "prepare", "evaluate", "inference", ...
    int ordinal = 0;   ///< order within the run; unique per run
    double tStart = 0; ///< seconds since run start (same clock as the samples)
    double duration = 0;
    QList<PhaseEnergyRecord> energy;
};

struct MetricRecord
{
    QString phase; ///< empty for run-level metrics
    QString name;  ///< accuracy, latency_p50, params, macs, energy_per_inference, ...
    double value = 0;
    QString unit;
    ValueKind kind = ValueKind::Computed;
};

struct ArtifactRecord
{
    qint64 id = 0;
    QString kind; ///< "model", "torchscript", "onnx", ...
    QString path;
    QString sha256;
    qint64 bytes = 0;
    QString created;
};

struct TechniqueLogRecord
{
    qint64 id = 0;
    QString plugin;
    QString message;
    QByteArray json;
    QString created;
};

/// Run aggregate per domain, computed from chunk metadata when the run ends.
struct RunEnergyRecord
{
    QString domain;
    ValueKind kind = ValueKind::Measured;
    QString meterId;
    qint64 samples = 0;
    double joules = NoValue;    ///< last minus first cumulative value; NoValue without samples
    double durationS = NoValue; ///< time of last minus first sample
    double avgPowerW = NoValue;
    double peakPowerW = NoValue; ///< highest power between two consecutive samples
};

/// (seconds since run start, cumulative joules) as produced by the sampler for one domain.
struct EnergySample
{
    double t = 0;
    double joules = 0;
    bool operator==(const EnergySample &) const = default;
};

/// One x position of a downsampled power series. It covers the sample intervals
/// (t[i-1], t[i]] that end inside it and reports exactly their extremes.
struct PowerBucket
{
    double tStart = 0; ///< start of the first interval covered
    double tEnd = 0;   ///< end of the last interval covered
    double minW = 0;   ///< lowest interval power (never above the true minimum)
    double maxW = 0;   ///< highest interval power (never below the true maximum)
    double meanW = 0;  ///< energy over the covered time / covered time
};

struct PowerSeries
{
    QString domain;
    ValueKind kind = ValueKind::Measured;
    /// Resolution the buckets were built from: 0 = every sample interval, 1 = blocks of
    /// SampleCodec::BlockSize samples, 2 = whole chunks.
    int level = 0;
    qint64 samplesInWindow = 0; ///< samples of the chunks that overlap the window
    QList<PowerBucket> buckets;
};

struct RunComparison
{
    RunRecord run;
    QList<PhaseRecord> phases; ///< in ordinal order, each with its per-domain energies
    QList<MetricRecord> metrics;
    QList<RunEnergyRecord> totals; ///< run aggregates per domain
};

struct ExperimentComparison
{
    ExperimentRecord experiment;
    QList<RunComparison> runs; ///< in run id order
};

struct MergeCounts
{
    int inputs = 0;
    int experimentsAdded = 0;
    int runsAdded = 0;
    int runsReplaced = 0;         ///< an unfinished copy in OUT replaced by a completed one
    int runsSkippedDuplicate = 0; ///< same key already in OUT
    int runsSkippedRunning = 0;   ///< still running (owner alive); merge again when done
    int runsInterrupted = 0;      ///< found running with a dead owner; copied as interrupted
    qint64 chunksCopied = 0;
    qint64 samplesCopied = 0;
    QStringList notes; ///< one line per skipped-running or interrupted run
};

/// Everything stored about one run, for export and import (Store::dumpExperiment(),
/// Store::importExperiment(), experiment_json.h, codecarbon_csv.h).
struct RunDump
{
    RunRecord run;
    QList<RunDomain> domains; ///< in registration order
    QList<PhaseRecord> phases;
    QList<MetricRecord> metrics;
    QList<RunEnergyRecord> totals; ///< run aggregates per domain, as stored
    QList<ArtifactRecord> artifacts;
    QList<TechniqueLogRecord> logs;
    /// Raw samples per domain name; filled only by a dump with samples.
    QMap<QString, QList<EnergySample>> samples;
};

struct ExperimentDump
{
    ExperimentRecord experiment;
    bool withSamples = false;
    QList<RunDump> runs; ///< in run id order
};

/// What Store::importExperiment() wrote.
struct ImportCounts
{
    qint64 experimentId = 0;
    bool experimentCreated = false; ///< false when the runs were added to an existing one
    QList<qint64> runIds;           ///< the new runs, in dump order
    qint64 samples = 0;
};

} // namespace jb::db
