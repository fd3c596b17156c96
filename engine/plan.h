// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "param_schema.h"

#include <QByteArray>
#include <QJsonObject>
#include <QList>
#include <QString>
#include <QStringList>

#include <functional>
#include <optional>

namespace jb {

/// The plan format version this reader writes and accepts.
inline constexpr int kPlanVersion = 1;

/// Which data, which split. Mirrors the engine's DatasetConfig (the runner converts).
struct PlanDataset
{
    QString name; ///< fashion-mnist | mnist | cifar10 | cifar100 | tensor
    QString path; ///< folder; "" = the standard locations; tensor: train.jbt + test.jbt, required
    double validationFraction = 0.1; ///< share of the training split held out, [0, 0.9]
    qint64 seed = 0;                 ///< split and subset seed; defaults to Plan::seed
    qint64 trainLimit = 0;           ///< use at most this many training samples, 0 = all
    qint64 testLimit = 0;            ///< use at most this many test samples, 0 = all
    bool normalize = true;           ///< per-channel mean/std normalisation

    bool operator==(const PlanDataset &) const = default;
};

/// The baseline model: a zoo architecture with a width multiplier, or a TorchScript file.
/// Exactly one of `zoo` and `torchScript` is non-empty.
struct PlanModel
{
    QString zoo;         ///< zoo name, e.g. "cnn-small"
    double width = 1.0;  ///< width multiplier of a zoo model, (0, 16]
    QString torchScript; ///< path of a TorchScript file (relative: to the plan file's folder)

    bool isTorchScript() const { return !torchScript.isEmpty(); }
    bool operator==(const PlanModel &) const = default;
};

/// Baseline training.
struct PlanTraining
{
    qint64 epochs = 2; ///< 0 = use the model as it is (a pre-trained TorchScript)
    qint64 batchSize = 64;
    QString optimizer = QStringLiteral("adam"); ///< sgd | adam
    double learningRate = 1e-3;
    double momentum = 0.9; ///< sgd only
    double weightDecay = 0.0;
    QString schedule = QStringLiteral("constant"); ///< constant | step | cosine
    qint64 stepSize = 1;                           ///< step schedule: epochs between decays
    double gamma = 0.1;                            ///< step schedule: decay factor
    qint64 seed = 0; ///< weight init and shuffling; defaults to Plan::seed

    bool operator==(const PlanTraining &) const = default;
};

/// One technique application: a plugin id and its params (defaults filled in when the
/// plugin's schema was known at parse time).
struct PlanStep
{
    QString plugin; ///< e.g. "prune.magnitude"
    QJsonObject params;

    bool operator==(const PlanStep &) const = default;
};

/// A labelled technique chain; the empty chain is the baseline.
struct PlanVariant
{
    QString label;
    QList<PlanStep> chain;

    bool isBaseline() const { return chain.isEmpty(); }
    bool operator==(const PlanVariant &) const = default;
};

/// The fixed inference workload, measured once per batch size inside each run.
struct PlanInference
{
    QList<qint64> batchSizes{1, 64}; ///< a sweep, in this order; distinct, each >= 1
    qint64 batches = 100;            ///< measured batches per batch size
    qint64 warmupBatches = 10;       ///< unmeasured batches before, per batch size

    bool operator==(const PlanInference &) const = default;
};

/// How energy is read.
struct PlanMeasurement
{
    QStringList meters{QStringLiteral("auto")}; ///< meter ids, or exactly {"auto"}
    double idleBefore = 2.0;                    ///< idle-baseline seconds before each run, [0, 600]
    double idleAfter = 0.0;                     ///< idle-baseline seconds after each run, [0, 600]
    double samplingHz = 10.0;                   ///< sampler rate, [1, 1000]

    bool isAuto() const { return meters == QStringList{QStringLiteral("auto")}; }
    bool operator==(const PlanMeasurement &) const = default;
};

/// Order of the runs of the grid; see docs/plan-format.md.
enum class PlanOrder { Interleaved, Shuffled };

/// What the reader needs to know about the installed engine. Every member is optional:
/// an empty/null member means "accept anything structurally valid" (tests, a GUI without
/// plugins loaded). Called on the thread that parses.
struct PlanContext
{
    /// The parameter schema of a technique plugin, nullptr when the id is unknown. When
    /// null, steps are accepted structurally (any id, any params object).
    std::function<const ParamSchema *(const QString &pluginId)> schemaFor;
    /// Known plugin ids, listed in "unknown plugin" messages.
    QStringList pluginIds;
    /// Known zoo model names; empty accepts any name of [a-z0-9_-].
    QStringList modelNames;
    /// Known meter ids (besides "auto"); empty accepts any id of [a-z0-9_-].
    QStringList meterIds;
    /// Checks a backend string ("cpu:2"); returns false with a reason. When null, the
    /// built-in syntax check is used: cpu, cpu:<threads>, cpu:<threads>:<quantized engine>,
    /// cuda, cuda:<index>.
    std::function<bool(const QString &backend, QString *why)> checkBackend;
};

/// An experiment plan: what to train, which technique chains to apply, where and how often
/// to measure. Parsed from plan.json, validated with every error collected, serialised back
/// in canonical form (sorted keys, defaults filled) so that parse(serialise(p)) == p.
///
/// Threads: a value type; the static readers and const methods are reentrant.
struct Plan
{
    int version = kPlanVersion;
    QString name;
    QString description;
    qint64 seed = 42; ///< the default of the other seeds, and the shuffle seed
    PlanDataset dataset;
    PlanModel model;
    PlanTraining training;
    QList<PlanVariant> variants; ///< the baseline (empty chain) is always one of them
    QStringList backends{QStringLiteral("cpu")};
    qint64 repetitions = 3;
    PlanInference inference;
    PlanMeasurement measurement;
    double accuracyBudget = 1.0; ///< max accuracy loss vs the baseline, in points
    PlanOrder order = PlanOrder::Interleaved;
    bool cacheBaseline = true; ///< reuse a trained baseline with the same config hash

    /// Index of the baseline variant (the one with the empty chain).
    qsizetype baselineIndex() const;

    /// Reads and validates a plan object. All problems are appended to *errors, one per
    /// line, each starting with the key path ("variants[2].chain[0].params.sparsity: 1.7 is
    /// above 1.0 (allowed range 0.0 to 1.0)"); returns nullopt if there was any.
    static std::optional<Plan> fromJson(const QJsonObject &json, QStringList *errors,
                                        const PlanContext &context = {});
    /// Same, from JSON text (syntax errors with line:column; duplicate keys are errors).
    /// `source` names the text in messages (a file name).
    static std::optional<Plan> fromJsonText(const QByteArray &text, QStringList *errors,
                                            const PlanContext &context = {},
                                            const QString &source = QStringLiteral("plan"));
    /// Same, from a file; a read failure is one error naming the file.
    static std::optional<Plan> load(const QString &filePath, QStringList *errors,
                                    const PlanContext &context = {});

    /// The canonical object: every key present, defaults filled, implied baseline written.
    QJsonObject toJson() const;
    /// Canonical text: sorted keys; indented for files, compact for hashing.
    QByteArray toJsonText(bool indented = true) const;
    /// sha256 (hex) of the compact canonical text: the plan's identity in the database.
    QString hash() const;
    /// Writes the indented canonical text (atomically); false with *error naming the file.
    bool save(const QString &filePath, QString *error) const;

    /// A path from the plan (model.torchScript, dataset.path) resolved against the folder of
    /// the plan file; absolute paths and an empty planFilePath return `path` unchanged.
    static QString resolvePath(const QString &planFilePath, const QString &path);

    bool operator==(const Plan &) const = default;
};

/// "interleaved" / "shuffled".
QString planOrderName(PlanOrder order);
/// The data set names a plan accepts (for the GUI's choices), in documentation order.
QStringList planDatasetNames();

} // namespace jb
