// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "measurement/meter_registry.h"
#include "plan.h"
#include "plan_grid.h"
#include "run_environment.h"

#include <QList>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>
#include <optional>

namespace jb {

class RunEventSink;
class Technique;

/// Creates the configured technique of one chain step (a fresh instance per run), or returns
/// nullptr with *error. The CLI passes TechniqueRegistry::create; without a factory a plan
/// with a non-empty chain fails its runs with "technique plugins are not available".
/// Called on the runner's thread.
using TechniqueFactoryFn =
    std::function<std::unique_ptr<Technique>(const PlanStep &step, QString *error)>;

/// How to run a plan. Plain value.
struct RunnerOptions
{
    QString databasePath; ///< created when missing
    QString planFilePath; ///< resolves relative paths of the plan (data set, TorchScript)
    ShardSpec shard;      ///< default 0/1: the whole grid
    /// Reuse the newest experiment with the same plan hash in the database and skip the runs
    /// it completed (configKey + repetition). Without one, a new experiment is started.
    bool resume = false;
    /// Replaces plan.measurement.meters when not empty (so it is part of the plan hash and
    /// the configuration keys: a different meter set is a different experiment).
    QStringList meters;
    DiscoveryOptions discovery = DiscoveryOptions::fromEnvironment();
    TechniqueFactoryFn techniqueFactory;
    /// Receives every event (JSONL, human progress); may be null. Must be thread-safe.
    RunEventSink *events = nullptr;
    /// Folder of cached trained baselines; empty = "<databasePath>.cache".
    QString cacheDir;
    bool diskCache = true; ///< false: keep cached baselines in memory only
    /// CPU time of other processes, in cores, above which a run is flagged background-load.
    double backgroundLoadThresholdCores = 0.10;
    /// Relative before/after idle power difference above which a run is flagged idle-drift.
    double idleDriftFraction = 0.10;
    /// Interval of "sample" events (live power); 0 disables them. Samples are stored anyway.
    double sampleEventIntervalS = 0.25;
    QString sysCpuRoot = defaultSysCpuRoot(); ///< cpufreq / thermal_throttle (tests: fakes)
};

/// What happened to an experiment.
struct ExperimentOutcome
{
    qint64 experimentId = 0;
    bool resumed = false;
    int runsTotal = 0;   ///< runs of the shard
    int runsSkipped = 0; ///< completed before (resume)
    int completed = 0;
    int failed = 0;
    int cancelled = 0;
    bool canceled = false;  ///< cancel() stopped the experiment; later runs did not start
    QList<qint64> runIds;   ///< runs created by this call, in order
    QStringList failures;   ///< "run 7 (pruned-50, cpu, repetition 1): <error>"
};

/// Turns a validated plan into measured, stored runs (docs/methodology.md): for each grid
/// entry of the shard, in order, one run with idle baseline, train (or a recorded reuse of a
/// cached training), prepare (the technique chain), evaluate and one inference phase per batch
/// size, every phase bracketed by meter reads; per-domain gross and net energy, metrics,
/// validity flags and the samples go to the database. A failed run is stored as failed with
/// its error and the experiment goes on with the next run, except when the database itself
/// refuses to store a run (disk full, read-only, locked by another writer): then the
/// experiment stops, since later runs could not be stored either ("continue with run
/// --resume"). Implementation: runner.cpp (the experiment), run_phases.cpp (one run's phases).
///
/// Threads: construct and call run() on one thread (it owns the database connection and
/// runs all torch work there); cancel() from any thread, also from a signal handler.
class ExperimentRunner
{
public:
    ExperimentRunner(Plan plan, RunnerOptions options);
    ~ExperimentRunner();
    ExperimentRunner(const ExperimentRunner &) = delete;
    ExperimentRunner &operator=(const ExperimentRunner &) = delete;

    /// Runs the experiment; blocks. Returns nullopt with *error only when the experiment
    /// cannot start (database, meters, data set, plan); run failures are in the outcome.
    std::optional<ExperimentOutcome> run(QString *error);

    /// Asks the current run to stop after its current batch (it is stored as cancelled) and
    /// no further run to start. Async-signal-safe (one atomic store).
    void cancel();
    bool isCanceled() const;

    /// The plan as run (after the meters override).
    const Plan &plan() const;

private:
    class Impl;
    std::unique_ptr<Impl> d;
};

} // namespace jb
