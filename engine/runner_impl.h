// SPDX-License-Identifier: GPL-3.0-or-later
// Private to the runner's translation units (runner.cpp: the experiment and its runs;
// run_phases.cpp: the measured phases of one run): the state of the run in progress and
// ExperimentRunner::Impl. Not installed, not for plugins.
#pragma once

#include "runner.h"

#include "backend.h"
#include "baseline_cache.h"
#include "database/sample_writer.h"
#include "database/store.h"
#include "datasets.h"
#include "engine_log.h"
#include "evaluator.h"
#include "feedback.h"
#include "inference_timer.h"
#include "measurement/estimate_meter.h"
#include "measurement/sampler.h"
#include "model_metrics.h"
#include "run_events.h"
#include "run_statistics.h"
#include "technique.h"
#include "trainer.h"

#include <QJsonArray>
#include <QJsonDocument>

#include <chrono>
#include <cmath>
#include <thread>

namespace jb {

namespace detail {

/// Forwards progress and log lines of the engine's long loops to the runner; its cancel flag
/// is the runner's.
class RunnerFeedback final : public Feedback
{
public:
    std::function<void(double, const QString &)> onProgress;
    std::function<void(const QString &)> onLog;
    void setProgress(double fraction, const QString &what) override
    {
        if (onProgress)
            onProgress(fraction, what);
    }
    void log(const QString &message) override
    {
        if (onLog)
            onLog(message);
    }
};

/// The figures of a train phase that a run reuses from the run that trained the model.
struct ReusedTrain
{
    CachedTraining info;
    db::PhaseRecord phase; ///< the source run's train phase, as stored
    double samplesSeen = 0;
};

/// Everything about the run in progress.
struct RunState
{
    const GridEntry *entry = nullptr;
    qint64 runId = 0;
    Backend backend;
    Sampler sampler;
    double samplerStartWall = 0;
    std::unique_ptr<db::SampleWriter> writer;
    QList<int> channels;
    QString writerError;
    double lastDrain = 0;

    std::unique_ptr<SampleStream> stream; ///< sample events, rows for the database

    QString phase;
    int step = 0;
    int steps = 1;
    IdleBaseline liveIdle;

    std::optional<ReusedTrain> reused;
    std::optional<TrainResult> trained;
    QMap<qint64, InferenceResult> inference;
    QList<db::MetricRecord> metrics;
    QList<db::TechniqueLogRecord> techniqueLogs;
    QStringList flags;
    QString cancelledIn;
};

/// The energy between two Sampler::readNow() rows (TechniqueContext::measureEnergy).
std::optional<WorkloadEnergy> workloadEnergyBetween(const SampleRow &before, const SampleRow &after,
                                                    const QList<SamplerDomain> &domains,
                                                    const QStringList &names,
                                                    const IdleBaseline &idle, QString *error);

} // namespace detail

using detail::ReusedTrain;
using detail::RunnerFeedback;
using detail::RunState;
using detail::workloadEnergyBetween;

class ExperimentRunner::Impl
{
public:
    Impl(Plan p, RunnerOptions o) : plan(std::move(p)), opt(std::move(o)) {}

    std::optional<ExperimentOutcome> run(QString *error);

    Plan plan;
    RunnerOptions opt;
    RunnerFeedback feedback;

    bool setUp(QString *error);
    void runOne(const GridEntry &entry);
    QString prepareRun(const GridEntry &entry, RunState &rs,
                       std::vector<std::unique_ptr<Technique>> *techniques,
                       std::unique_ptr<Model> *model, NamedTensors *initialState,
                       QJsonObject *trainCache, std::optional<QString> *cacheHash);
    QString measure(RunState &rs, std::vector<std::unique_ptr<Technique>> &techniques,
                    std::unique_ptr<Model> model, NamedTensors initialState,
                    const std::optional<QString> &cacheHash);
    void finish(RunState &rs, db::RunStatus status, QString errorText, double wallStart);

    void mark(RunState &rs, const QString &name);
    void drain(RunState &rs, bool force);
    bool sleepCancellable(double seconds);
    void metric(RunState &rs, const QString &phase, const QString &name, double value,
                const QString &unit, db::ValueKind kind = db::ValueKind::Computed);

    void emitEvent(RunEvent e) const;
    void log(const QString &level, const QString &message, qint64 runId = 0) const;

    db::Store store;
    QList<std::shared_ptr<Meter>> meters;
    QStringList meterWarnings;
    QList<SamplerDomain> domains;
    QStringList domainNames; ///< stored names, in sampler column order
    BackendInfo machine;
    QJsonObject environment;
    DatasetSplits splits;
    std::unique_ptr<BaselineCache> cache;
    double t0 = 0;
    int position = 0;
    int runsToRun = 0;
    /// Set when the database refused to store a run (disk full, read-only, locked): the
    /// experiment stops, since the next runs could not be stored either.
    QString storageFailure;
    ExperimentOutcome outcome;
    RunState *current = nullptr;
    std::thread::id runnerThread;
};

} // namespace jb
