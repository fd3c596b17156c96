// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "backend.h"
#include "datasets.h"
#include "feedback.h"
#include "model.h"
#include "technique_api.h" // JB_TECHNIQUE_IID, TechniqueIid, TechniqueApiVersion
#include "trainer.h"

#include <QJsonObject>
#include <QList>
#include <QString>
#include <QtPlugin>

#include <functional>
#include <memory>
#include <optional>

namespace jb {

/// Energy of one meter domain over a workload measured with TechniqueContext::measureEnergy.
struct WorkloadDomainEnergy
{
    QString domain;          ///< the run's stored domain name ("package-0", "cpu", ...)
    bool estimate = false;   ///< the domain comes from the estimate meter (no counter)
    bool summed = false;     ///< counted in WorkloadEnergy::joules
    double joules = 0;       ///< gross
    std::optional<double> netJoules; ///< gross - idle power x seconds, when idle was measured
};

/// What TechniqueContext::measureEnergy returns: the energy of one workload.
struct WorkloadEnergy
{
    /// Gross joules summed over the run's top-level domains (a domain that is part of another,
    /// e.g. package-0/core, is never added to its parent). Measured and estimated energy are
    /// never added together: when any domain is measured only measured domains are summed,
    /// otherwise the estimate domains are (then `estimate` is true).
    double joules = 0;
    /// joules minus the run's idle power x seconds over the same domains; nullopt when the run
    /// has no idle baseline (plan measurement.idleBefore 0).
    std::optional<double> netJoules;
    double seconds = 0;    ///< wall time of the workload between the two meter reads
    bool estimate = false; ///< the summed figure is the estimate meter's (label it "estimate")
    QList<WorkloadDomainEnergy> domains; ///< every domain of the run's meters
};

/// What a technique works on. The runner fills it; the technique may replace `model`.
///
/// Threads: everything here is used on the runner's worker thread, the one that calls
/// Technique::apply()/train(); `feedback` may be cancelled from other threads.
struct TechniqueContext
{
    /// In: the model the chain has so far (the trained baseline for the first step).
    /// Out: the transformed model (pruned, quantized, a student...). May be replaced.
    std::unique_ptr<Model> model;
    /// The model's weights right after initialisation, before any training (lottery-ticket
    /// rewinding). Empty when the model did not come from the runner's training.
    NamedTensors initialState;
    /// Train / validation / test splits (validation is for calibration and search; a technique
    /// never looks at test).
    const DatasetSplits *data = nullptr;
    Backend backend;
    /// The baseline's training settings; fine-tuning starts from a copy of these.
    TrainOptions training;
    /// The experiment's seed for this run (techniques derive their own randomness from it).
    quint64 seed = 0;
    Feedback *feedback = nullptr;

    /// Starts a named sub-phase of the technique's cost; the runner brackets it with meter
    /// reads. Inside apply() the name becomes "prepare:<name>" ("prepare:finetune"), inside
    /// train() "train:<name>" ("train:score", "train:fit"); a name that already has the prefix
    /// is kept. Cost not inside a named sub-phase is still measured as part of `prepare` or
    /// `train`, whose stored records span all their sub-phases (docs/methodology.md).
    std::function<void(const QString &name)> beginPhase;
    /// A line for the run's technique log, with structured data (stored in the database).
    std::function<void(const QString &message, const QJsonObject &data)> log;
    /// An extra figure the technique wants stored with the run (e.g. "sparsity", 0.9, "ratio").
    std::function<void(const QString &name, double value, const QString &unit)> metric;
    /// Measures the energy of `work` (e.g. the inference of a search candidate): reads every
    /// meter of the run right before and after calling work(error) on the calling thread,
    /// without starting a stored phase (the energy stays part of the current one). Returns
    /// nullopt with *error when work returns false or a summed domain's meter read failed.
    /// Called on the runner's worker thread (the one in apply()/train()); may be empty (tests,
    /// tools without meters): then a technique reports the energy as absent, never invents it.
    std::function<std::optional<WorkloadEnergy>(const std::function<bool(QString *)> &work,
                                                QString *error)>
        measureEnergy;
};

/// One technique (a pruning method, a quantization, a distillation...). A fresh instance per
/// run: configure() once, then train() (only when trainsModel()) and apply().
class Technique
{
public:
    virtual ~Technique() = default;

    /// `params` were validated against the plugin's parameter schema and have every default
    /// filled. Checks combinations the schema cannot express; the message names the parameter.
    virtual bool configure(const QJsonObject &params, QString *error) = 0;

    /// Fails early, before any measured work, when the technique cannot run on this backend or
    /// model (e.g. "fp16 convolution is not supported on backend cpu"). Default: it can.
    virtual bool checkSupported(const Model &model, const Backend &backend, QString *error) const
    {
        Q_UNUSED(model);
        Q_UNUSED(backend);
        Q_UNUSED(error);
        return true;
    }

    /// True for techniques that change how the model is trained (data selection, growing):
    /// the runner then calls train() in the `train` phase instead of its default training, and
    /// never uses a cached baseline for the run.
    virtual bool trainsModel() const { return false; }

    /// Trains context.model from its initial weights (only when trainsModel()).
    virtual bool train(TechniqueContext &context, QString *error)
    {
        Q_UNUSED(context);
        *error = QStringLiteral("this technique does not train models");
        return false;
    }

    /// Transforms the trained context.model; everything it does is the `prepare` phase.
    /// Checks context.feedback->isCanceled() at least once per batch of work.
    virtual bool apply(TechniqueContext &context, QString *error) = 0;
};

/// The Qt plugin interface: one factory per plugin library, instantiated by the registry only
/// after the plugin's metadata passed validation (see TechniqueRegistry and docs/plugins.md).
///
/// Threads: create() may be called from any thread, also concurrently (the runner's worker
/// thread creates a fresh technique for every run); keep the factory stateless.
class TechniqueFactory
{
public:
    virtual ~TechniqueFactory() = default;
    /// A new, unconfigured technique. Returns nullptr only on failure (the registry reports it).
    virtual std::unique_ptr<Technique> create() const = 0;
};

} // namespace jb

Q_DECLARE_INTERFACE(jb::TechniqueFactory, JB_TECHNIQUE_IID)
