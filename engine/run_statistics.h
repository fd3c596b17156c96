// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "database/store_types.h"
#include "measurement/sampler.h"
#include "measurement/statistics.h"

#include <QHash>
#include <QJsonObject>
#include <QList>
#include <QMap>
#include <QString>
#include <QStringList>

#include <limits>

#include <optional>

/// The arithmetic of the experiment runner and of `compare` (definitions in
/// docs/methodology.md): idle baseline and net energy of one run, and the aggregation of runs
/// across repetitions with bootstrap confidence intervals and paired differences to the
/// baseline. Pure functions on plain data, no torch, callable from any thread.
namespace jb {

// --- one run ------------------------------------------------------------------------------------

/// Idle power per domain of one run, from its idle window(s).
struct IdleBaseline
{
    bool available = false; ///< an idle window of positive duration was measured
    double beforeS = 0;     ///< duration of the idle window before the run (0: none)
    double afterS = 0;      ///< duration of the idle window after the run (0: none)
    QHash<QString, double> beforeW; ///< per stored domain name
    QHash<QString, double> afterW;
    /// The idle power used for net energy: the mean of before and after where both were
    /// measured, else the one that was.
    QHash<QString, double> powerW;
    /// Domains whose before and after idle power differ by more than the drift threshold.
    QStringList drifted;
};

/// Idle power from the sampler's idle phases (null when not measured). `names` are the stored
/// domain names in the order of PhaseResult::domains. A domain whose read failed (NaN) gets no
/// idle power. `driftFraction`: a relative before/after difference above it (of the larger of
/// the two) marks the domain drifted.
IdleBaseline computeIdleBaseline(const PhaseResult *before, const PhaseResult *after,
                                 const QStringList &names, double driftFraction = 0.10);

/// The stored record of one sampled phase: per domain gross energy, net energy
/// gross - P_idle x duration (gross when idle.available is false: the run is then flagged
/// no-idle-baseline), mean power gross / duration, and the domain's kind. Domains whose
/// boundary read failed (NaN) are left out and appended to *skipped (may be null).
db::PhaseRecord phaseRecordFrom(const PhaseResult &phase, const IdleBaseline &idle,
                                const QStringList &names, int ordinal, QStringList *skipped);

/// Energy-delay product of a phase, E_net x t (J s).
inline double energyDelayProduct(double netJ, double durationS)
{
    return netJ * durationS;
}

/// Latency figures of one inference phase (from InferenceTimer), what the derived energy
/// figures need.
struct InferenceFigures
{
    int batches = 0; ///< timed batches completed
    double meanMs = 0, p50Ms = 0, p95Ms = 0, p99Ms = 0;
    double throughput = 0; ///< samples per second
};

/// What the runner measured in one run, for deriveRunFigures().
struct RunMeasurement
{
    QList<PhaseResult> phases;    ///< Sampler::phases(), in order ("idle", "train", ...)
    QStringList domainNames;      ///< stored domain names, in sampler column order
    double maxUpdateIntervalS = 0; ///< the largest counter update interval of the meters
    double idleDriftFraction = 0.10;
    /// The train phase of the run that trained a reused baseline, as stored; it is recorded
    /// with this run (after the idle phase) and flagged train-reused.
    std::optional<db::PhaseRecord> reusedTrain;
    qint64 reusedFromRun = 0;
    double trainSamples = 0; ///< samples the (own or reused) training processed
    /// The run's own training (not a reuse): epochs done, and the last epoch's loss and
    /// accuracy on the training batches (NaN when unknown).
    int trainEpochs = 0;
    double finalTrainLoss = std::numeric_limits<double>::quiet_NaN();
    double finalTrainAccuracy = std::numeric_limits<double>::quiet_NaN();
    QMap<qint64, InferenceFigures> inference; ///< per batch size

    // Facts for the flags that the phases do not tell.
    bool estimate = false;      ///< a domain is an estimate (flag estimate)
    bool referenceBlas = false; ///< libtorch calls the reference BLAS (flag reference-blas)
    quint64 counterWraps = 0;   ///< wraps corrected by the meters (flag counter-wrap)
    bool readErrors = false;    ///< a meter read failed (flag read-error)
    QStringList otherFlags;     ///< checked by the runner: background-load, throttling
};

/// The stored figures of one run: phase records, derived metrics, validity flags.
struct RunFigures
{
    IdleBaseline idle;
    QList<db::PhaseRecord> phases;
    QList<db::MetricRecord> metrics;
    QStringList flags;
};

/// Turns a run's measurement into stored figures (docs/methodology.md, sections 2-5):
/// - phase records with net energy (phaseRecordFrom); the sampled "prepare:<name>" parts are
///   kept and an aggregate "prepare" record spans them (gross = their sum: the parts are
///   contiguous); a "train" record spans the "train:<part>" phases that follow it (a technique
///   that trains, e.g. data selection's "train:score"), which are kept too; a reused train
///   record is inserted after "idle";
/// - metrics: idle_power_w/<d> (idle), edp_js/<d> (train, prepare, evaluate, inference:b<N>),
///   energy_per_training_sample_j/<d> (train), energy_per_inference_j/<d> and
///   edp_per_batch_js/<d> (inference:b<N>), the latency figures, short_phase;
///   reused_from_run and samples_seen for a reused train phase, samples_seen, epochs,
///   final_train_loss and final_train_accuracy for an own one; each with its domain's kind;
/// - flags: the otherFlags, then no-idle-baseline, idle-drift, short-phase, read-error,
///   train-reused, estimate, reference-blas, counter-wrap.
RunFigures deriveRunFigures(const RunMeasurement &m);

// --- across repetitions -------------------------------------------------------------------------

/// Mean, standard deviation and bootstrap 95 % CI of one figure over repetitions.
struct FigureStats
{
    int n = 0;
    QList<double> values;
    double mean = 0; ///< NaN for n = 0
    double sd = 0;   ///< NaN for n < 2
    /// Percentile bootstrap of the mean (stats::bootstrapMeanCi); only for n >= 2.
    std::optional<stats::ConfidenceInterval> ci;
};
FigureStats summarizeValues(const QList<double> &values, int resamples = stats::kDefaultResamples);

/// A variant's difference to the baseline, paired by repetition index.
struct PairedDelta
{
    int pairs = 0;
    double mean = 0;  ///< mean of variant[r] - baseline[r]; NaN without pairs
    /// mean(variant) / mean(baseline) over the pairs; NaN unless mean(baseline) > 0 and
    /// mean(variant) >= 0 (a ratio of net energies near zero or negative means nothing).
    double ratio = 0;
    std::optional<stats::ConfidenceInterval> ci; ///< for pairs >= 2
};
/// Pairs the repetitions present in both maps (repetition -> value).
PairedDelta pairedDelta(const QMap<int, double> &baseline, const QMap<int, double> &variant,
                        int resamples = stats::kDefaultResamples);

/// One compared figure of a variant: a phase's net energy in one domain, or a stored metric.
struct ComparedFigure
{
    /// "energy|<phase>|<domain>" for phase energies, "<phase>|<metric name>" for metrics
    /// ("evaluate|accuracy", "inference:b64|energy_per_inference_j/package-0", "|params").
    QString id;
    QString phase;
    QString domain; ///< energy figures and per-domain metrics; empty otherwise
    QString name;   ///< "net_energy_j" for phase energies, else the metric name
    QString unit;
    db::ValueKind kind = db::ValueKind::Computed;
    QMap<int, double> byRepetition; ///< completed runs only
    FigureStats stats;
    std::optional<PairedDelta> delta; ///< absent for the baseline itself
    /// A `train` figure where runs reused a cached training: the stats count each training
    /// once (distinct sources), the per-repetition values repeat the source's figure.
    bool sharedTraining = false;
};

/// One (variant, backend) cell of the grid over its repetitions.
struct VariantSummary
{
    QString label;
    QString backend;
    QString configKey;
    QString baselineKey;
    QByteArray chainJson;
    bool baseline = false;
    int runs = 0, completed = 0, failed = 0, cancelled = 0, interrupted = 0, running = 0;
    QMap<QString, int> flagCounts; ///< over completed runs
    QList<qint64> runIds;
    QList<ComparedFigure> figures;
    /// Accuracy (top-1, percent) and the budget check: the mean paired accuracy loss against
    /// the baseline <= budget. The baseline is within by definition. budgetKnown is false when
    /// there is no paired accuracy (no completed baseline or variant repetition to pair);
    /// withinBudget is then false too, and the variant is not called a saving.
    bool budgetKnown = false;
    bool withinBudget = false;

    const ComparedFigure *figure(const QString &id) const;
};

/// What `compare` shows: every variant of an experiment, aggregated from stored figures only.
struct ComparisonSummary
{
    db::ExperimentRecord experiment;
    double accuracyBudget = 1.0;     ///< points, from the stored plan
    QList<db::RunDomain> domains;    ///< every domain seen, by first appearance (name, kind, meter)
    QList<qint64> batchSizes;        ///< of the inference phases seen, ascending
    QList<VariantSummary> variants;  ///< per backend: the baseline first, then plan order
    QStringList notes;               ///< caveats for the reader
    int resamples = stats::kDefaultResamples;
};

/// Aggregates the completed runs of an experiment (Store::comparison()). Figures: net energy
/// of the phases train, prepare (0 J for the baseline, which has none), evaluate and every
/// inference:b<N>, and every stored metric (phase-level and run-level). Accuracy is
/// converted to percent. Errors: an experiment without runs.
std::optional<ComparisonSummary> summarizeComparison(const db::ExperimentComparison &comparison,
                                                     QString *error,
                                                     int resamples = stats::kDefaultResamples);

/// The summary as JSON (compare --json): every figure with kind ("measured"/"estimate"/...),
/// n, mean, sd, ci, per-repetition values and the paired delta. Non-finite numbers are null.
QJsonObject comparisonToJson(const ComparisonSummary &summary);

/// Id of a phase-energy figure.
QString energyFigureId(const QString &phase, const QString &domain);
/// Id of a metric figure.
QString metricFigureId(const QString &phase, const QString &name);

} // namespace jb
