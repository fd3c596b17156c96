// SPDX-License-Identifier: GPL-3.0-or-later
// prune.energy_aware: energy-aware pruning after Yang et al. (CVPR 2017), simplified. Layers are
// ranked by their measured share of the forward time, which stands in for their share of the
// energy (estimate: time-share: no per-layer power is available to a plugin, and with one mean
// power for the whole forward pass the power cancels in the ranking). The most expensive layers
// are pruned first by magnitude; then a global masked fine-tune. The paper's weight restoring and
// local least-squares fit are not implemented. See docs/techniques/pruning.md.
#include "plugins/pruning_common/pruning_common.h"

#include "engine/model.h"
#include "engine/spec_layers.h"
#include "engine/spec_model.h"
#include "engine/technique.h"

#include <QObject>
#include <QtPlugin>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

using namespace Qt::StringLiterals;

namespace jb::plugins {

namespace {

const QString kOperation = u"energy-aware pruning (prune.energy_aware)"_s;
const QString kEstimate = u"estimate: time-share"_s;

/// The technique. Runs on the runner's worker thread; one instance per run.
class EnergyAwarePruning final : public Technique
{
public:
    bool configure(const QJsonObject &params, QString *error) override
    {
        m_sparsity = params.value(u"sparsity"_s).toDouble();
        m_maxLayerSparsity = params.value(u"max_layer_sparsity"_s).toDouble();
        m_batchSize = params.value(u"timing_batch_size"_s).toInteger();
        m_repeats = int(params.value(u"timing_repeats"_s).toInteger());
        m_epochs = int(params.value(u"finetune_epochs"_s).toInteger());
        m_lrFactor = params.value(u"lr_factor"_s).toDouble();
        m_includeLast = params.value(u"include_last_layer"_s).toBool();
        if (m_sparsity > m_maxLayerSparsity) {
            *error = u"params.sparsity: %1 cannot be reached when no layer may exceed "
                     "params.max_layer_sparsity %2; raise max_layer_sparsity or lower "
                     "sparsity"_s.arg(m_sparsity)
                         .arg(m_maxLayerSparsity);
            return false;
        }
        return true;
    }

    bool checkSupported(const Model &model, const Backend &backend,
                        QString *error) const override
    {
        Q_UNUSED(backend);
        return requireSpec(model, kOperation, error) != nullptr;
    }

    bool apply(TechniqueContext &context, QString *error) override
    {
        return pruning::applyGuarded(context, u"energy-aware pruning"_s, error, [&] {
            return requireSpec(*context.model, kOperation, error) && prune(context, error);
        });
    }

private:
    /// Median forward time of one leaf layer in ms; returns its output.
    torch::Tensor timeLayer(Layer &layer, const torch::Tensor &x, const QString &path)
    {
        torch::Tensor y = layer.forward(x); // warm-up
        std::vector<double> ms;
        for (int r = 0; r < m_repeats; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            y = layer.forward(x);
            const auto t1 = std::chrono::steady_clock::now();
            ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        }
        std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
        m_times[path] += ms[ms.size() / 2];
        return y;
    }

    /// Times every leaf layer of `seq` in order, feeding each its real input.
    torch::Tensor timeSequence(LayerSequence &seq, const QString &prefix, torch::Tensor x,
                               Feedback *feedback)
    {
        for (size_t i = 0; i < seq.size(); ++i) {
            if (feedback && feedback->isCanceled())
                return {};
            const QString path = prefix + QString::number(i);
            Layer &layer = *seq.at(i);
            if (auto *res = dynamic_cast<ResidualLayer *>(&layer)) {
                torch::Tensor body = timeSequence(res->body(), path + u".body."_s, x, feedback);
                torch::Tensor shortcut =
                    res->shortcut().size() == 0
                        ? x
                        : timeSequence(res->shortcut(), path + u".shortcut."_s, x, feedback);
                if (!body.defined() || !shortcut.defined())
                    return {};
                x = body + shortcut;
            } else if (auto *inner = dynamic_cast<LayerSequence *>(&layer)) {
                x = timeSequence(*inner, path + u"."_s, x, feedback);
            } else {
                x = timeLayer(layer, x, path);
            }
        }
        return x;
    }

    bool prune(TechniqueContext &context, QString *error)
    {
        auto *model = dynamic_cast<SpecModel *>(context.model.get());
        if (!model) {
            *error = specRequiredError(kOperation, *context.model);
            return false;
        }
        const std::vector<pruning::Prunable> targets =
            pruning::prunableWeights(*model, m_includeLast);
        if (targets.empty()) {
            *error = u"model '%1' has no conv or linear weight to prune"_s.arg(model->name());
            return false;
        }

        // 1. Per-layer forward time at the inference batch size.
        if (context.beginPhase)
            context.beginPhase(u"prepare:profile"_s);
        if (context.feedback)
            context.feedback->setProgress(0.0, u"energy-aware pruning: timing every layer"_s);
        torch::Tensor input;
        const Dataset *source = nullptr;
        if (context.data)
            source = context.data->validation.size() > 0 ? &context.data->validation
                                                         : &context.data->train;
        if (source && source->size() > 0) {
            const int64_t n = std::min<int64_t>(m_batchSize, source->size());
            input = source->inputs.slice(0, 0, n);
            if (n < m_batchSize) // repeat rows to the requested batch size
                input = input.repeat_interleave((m_batchSize + n - 1) / n, 0).slice(0, 0,
                                                                                   m_batchSize);
        } else {
            std::vector<int64_t> shape{m_batchSize};
            for (int64_t s : model->inputShape())
                shape.push_back(s);
            torch::manual_seed(context.seed);
            input = torch::randn(shape);
        }
        input = input.to(model->device(), model->computeDtype());
        const bool wasTraining = model->isTraining();
        model->setTraining(false);
        m_times.clear();
        {
            c10::InferenceMode inference;
            const torch::Tensor out =
                timeSequence(model->network(), QString(), input, context.feedback);
            if (!out.defined()) {
                model->setTraining(wasTraining);
                *error = u"cancelled"_s;
                return false;
            }
        }
        model->setTraining(wasTraining);
        double totalMs = 0;
        for (const auto &[path, ms] : m_times)
            totalMs += ms;

        // 2. Ranking of the prunable layers by their time share (the energy proxy).
        struct Ranked
        {
            size_t target;
            QString path;
            double ms;
        };
        std::vector<Ranked> ranked;
        for (size_t i = 0; i < targets.size(); ++i) {
            const QString path = pruning::layerPathOf(targets[i].name);
            const auto it = m_times.find(path);
            ranked.push_back({i, path, it == m_times.end() ? 0.0 : it->second});
        }
        std::stable_sort(ranked.begin(), ranked.end(),
                         [](const Ranked &a, const Ranked &b) { return a.ms > b.ms; });
        QJsonArray ranking;
        double rankedMs = 0;
        for (size_t r = 0; r < ranked.size(); ++r) {
            const double share = totalMs > 0 ? ranked[r].ms / totalMs : 0;
            rankedMs += ranked[r].ms;
            ranking.append(QJsonObject{
                {u"rank"_s, int(r + 1)},
                {u"layer"_s, ranked[r].path},
                {u"time_ms"_s, ranked[r].ms},
                {u"energy_share_estimate"_s, share},
                {u"weights"_s, qint64(targets[ranked[r].target].weight.numel())}});
            if (context.metric)
                context.metric(u"energy_share_estimate.%1"_s.arg(ranked[r].path), share,
                               u"ratio"_s);
        }
        if (context.log)
            context.log(u"layer ranking by measured forward time at batch %1 (%2; median of %3 "
                        "timings; the conv and linear layers take %4 of %5 ms, the rest is "
                        "batch norm, activations and pooling)"_s.arg(m_batchSize)
                            .arg(kEstimate)
                            .arg(m_repeats)
                            .arg(rankedMs, 0, 'f', 3)
                            .arg(totalMs, 0, 'f', 3),
                        QJsonObject{{u"method"_s, kEstimate},
                                    {u"batch_size"_s, qint64(m_batchSize)},
                                    {u"repeats"_s, m_repeats},
                                    {u"total_ms"_s, totalMs},
                                    {u"ranking"_s, ranking}});

        // 3. Prune in ranking order until the target count is reached exactly.
        if (context.beginPhase)
            context.beginPhase(u"prepare:prune"_s);
        int64_t total = 0;
        for (const pruning::Prunable &p : targets)
            total += p.weight.numel();
        int64_t left = std::llround(m_sparsity * double(total));
        pruning::Masks masks;
        QJsonArray plan;
        for (const Ranked &r : ranked) {
            const pruning::Prunable &p = targets[r.target];
            const int64_t count =
                std::min(left, int64_t(std::llround(m_maxLayerSparsity * double(p.weight.numel()))));
            pruning::magnitudeMasks({p}, count, {}, &masks);
            left -= count;
            plan.append(QJsonObject{{u"layer"_s, r.path},
                                    {u"pruned"_s, qint64(count)},
                                    {u"sparsity"_s, double(count) / double(p.weight.numel())}});
        }
        pruning::applyMasks(*model, masks);
        if (context.log)
            context.log(u"pruned by magnitude in ranking order, at most %1 per layer"_s.arg(
                            m_maxLayerSparsity),
                        QJsonObject{{u"order"_s, plan}});
        pruning::reportSparsity(context, targets, u"energy-aware pruning"_s, m_epochs == 0);

        // 4. Global fine-tune with the masks.
        if (m_epochs > 0) {
            if (context.beginPhase)
                context.beginPhase(u"prepare:finetune"_s);
            if (!pruning::fineTune(context, masks, m_epochs, m_lrFactor,
                                   u"fine-tuning after energy-aware pruning"_s, 1, error))
                return false;
            pruning::reportSparsity(context, targets, u"energy-aware pruning, fine-tuned"_s);
        }
        if (context.feedback)
            context.feedback->setProgress(1.0, u"energy-aware pruning done"_s);
        return true;
    }

    double m_sparsity = 0.8;
    double m_maxLayerSparsity = 0.95;
    int64_t m_batchSize = 64;
    int m_repeats = 10;
    int m_epochs = 1;
    double m_lrFactor = 0.1;
    bool m_includeLast = true;
    std::map<QString, double> m_times; ///< median ms by leaf layer path
};

} // namespace

/// The plugin object: Qt creates one per library, the registry asks it for techniques.
class EnergyAwarePruningPlugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "energy_aware.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        return std::make_unique<EnergyAwarePruning>();
    }
};

} // namespace jb::plugins

#include "energy_aware.moc"
