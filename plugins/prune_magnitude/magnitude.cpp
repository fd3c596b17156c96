// SPDX-License-Identifier: GPL-3.0-or-later
// prune.magnitude: unstructured magnitude pruning (Han et al. 2015), global or per layer,
// one-shot or iterative with a linear or cubic sparsity ramp (Zhu & Gupta 2017), masked
// fine-tuning after each step. See docs/techniques/pruning.md.
#include "plugins/pruning_common/pruning_common.h"

#include "engine/model.h"
#include "engine/technique.h"

#include <QObject>
#include <QtPlugin>

#include <torch/torch.h>

#include <cmath>

using namespace Qt::StringLiterals;

namespace jb::plugins {

namespace {

/// The technique. Runs on the runner's worker thread; one instance per run.
class MagnitudePruning final : public Technique
{
public:
    bool configure(const QJsonObject &params, QString *error) override
    {
        m_sparsity = params.value(u"sparsity"_s).toDouble();
        m_global = params.value(u"scope"_s).toString() == u"global"_s;
        m_schedule = params.value(u"schedule"_s).toString();
        m_steps = int(params.value(u"steps"_s).toInteger());
        m_epochsPerStep = int(params.value(u"epochs_per_step"_s).toInteger());
        m_lrFactor = params.value(u"lr_factor"_s).toDouble();
        m_includeLast = params.value(u"include_last_layer"_s).toBool();
        Q_UNUSED(error);
        if (m_schedule == u"one_shot"_s)
            m_steps = 1; // one pruning step, whatever `steps` says (documented)
        return true;
    }

    bool apply(TechniqueContext &context, QString *error) override
    {
        return pruning::applyGuarded(context, u"magnitude pruning"_s, error,
                                     [&] { return prune(context, error); });
    }

    /// Sparsity after step `step` (1-based) of `m_steps`.
    double sparsityAt(int step) const
    {
        const double t = double(step) / double(m_steps);
        if (m_schedule == u"cubic"_s)
            return m_sparsity * (1.0 - std::pow(1.0 - t, 3.0));
        return m_sparsity * t; // linear; one_shot has one step (t = 1)
    }

private:
    bool prune(TechniqueContext &context, QString *error)
    {
        const std::vector<pruning::Prunable> targets =
            pruning::prunableWeights(*context.model, m_includeLast);
        if (targets.empty()) {
            *error = u"model '%1' has no conv or linear weight to prune%2"_s.arg(
                context.model->name(),
                m_includeLast ? QString() : u" (include_last_layer is false)"_s);
            return false;
        }
        pruning::Masks masks;
        for (int step = 1; step <= m_steps; ++step) {
            if (context.feedback && context.feedback->isCanceled()) {
                *error = u"cancelled"_s;
                return false;
            }
            if (context.beginPhase)
                context.beginPhase(m_steps == 1 ? u"prepare:prune"_s
                                                : u"prepare:prune-step-%1"_s.arg(step));
            const double target = sparsityAt(step);
            masks = pruning::sparsityMasks(targets, target, m_global, masks);
            pruning::applyMasks(*context.model, masks);
            if (context.feedback)
                context.feedback->setProgress(double(step - 1) / double(m_steps),
                                              u"magnitude pruning: step %1/%2 (sparsity %3)"_s
                                                  .arg(step)
                                                  .arg(m_steps)
                                                  .arg(target, 0, 'f', 3));
            pruning::reportSparsity(context, targets,
                                    u"step %1/%2, target %3"_s.arg(step).arg(m_steps).arg(
                                        target, 0, 'f', 4),
                                    false);
            if (m_epochsPerStep > 0) {
                if (context.beginPhase)
                    context.beginPhase(m_steps == 1 ? u"prepare:finetune"_s
                                                    : u"prepare:finetune-step-%1"_s.arg(step));
                if (!pruning::fineTune(context, masks, m_epochsPerStep, m_lrFactor,
                                       u"fine-tuning after pruning step %1/%2"_s.arg(step).arg(
                                           m_steps),
                                       quint64(step), error))
                    return false;
            }
        }
        const pruning::SparsityReport final =
            pruning::reportSparsity(context, targets, u"magnitude pruning done"_s);
        if (context.metric)
            context.metric(u"target_sparsity"_s, m_sparsity, u"ratio"_s);
        if (context.feedback)
            context.feedback->setProgress(1.0, u"magnitude pruning: sparsity %1"_s.arg(
                                                   final.sparsity(), 0, 'f', 4));
        return true;
    }

    double m_sparsity = 0.9;
    bool m_global = true;
    QString m_schedule;
    int m_steps = 1;
    int m_epochsPerStep = 1;
    double m_lrFactor = 0.1;
    bool m_includeLast = true;
};

} // namespace

/// The plugin object: Qt creates one per library, the registry asks it for techniques.
class MagnitudePruningPlugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "magnitude.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        return std::make_unique<MagnitudePruning>();
    }
};

} // namespace jb::plugins

#include "magnitude.moc"
