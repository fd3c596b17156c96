// SPDX-License-Identifier: GPL-3.0-or-later
// prune.lottery: lottery-ticket rewinding (Frankle & Carbin 2019, rewinding as in Frankle et al.
// 2020) and Early-Bird tickets (You et al. 2020). See docs/techniques/pruning.md.
#include "plugins/pruning_common/pruning_common.h"

#include "engine/model.h"
#include "engine/technique.h"
#include "engine/trainer.h"

#include <QObject>
#include <QtPlugin>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <deque>

using namespace Qt::StringLiterals;

namespace jb::plugins {

namespace {

/// The technique. Runs on the runner's worker thread; one instance per run.
class LotteryPruning final : public Technique
{
public:
    bool configure(const QJsonObject &params, QString *error) override
    {
        m_earlyBird = params.value(u"mode"_s).toString() == u"early_bird"_s;
        m_rounds = int(params.value(u"rounds"_s).toInteger());
        m_pruneFraction = params.value(u"prune_fraction"_s).toDouble();
        m_retrainEpochs = int(params.value(u"retrain_epochs"_s).toInteger());
        m_rewindEpoch = int(params.value(u"rewind_epoch"_s).toInteger());
        m_lrFactor = params.value(u"lr_factor"_s).toDouble();
        m_global = params.value(u"scope"_s).toString() == u"global"_s;
        m_includeLast = params.value(u"include_last_layer"_s).toBool();
        m_ebSparsity = params.value(u"eb_sparsity"_s).toDouble();
        m_ebThreshold = params.value(u"eb_threshold"_s).toDouble();
        m_ebWindow = int(params.value(u"eb_window"_s).toInteger());
        m_ebMaxEpochs = int(params.value(u"eb_max_epochs"_s).toInteger());
        if (m_earlyBird && m_ebWindow >= m_ebMaxEpochs) {
            *error = u"params.eb_window: %1 distances need more than %1 epochs; raise "
                     "params.eb_max_epochs above %1 or lower eb_window"_s.arg(m_ebWindow);
            return false;
        }
        return true;
    }

    bool apply(TechniqueContext &context, QString *error) override
    {
        return pruning::applyGuarded(context, u"lottery-ticket pruning"_s, error, [&] {
            if (context.initialState.empty()) {
                *error = u"prune.lottery needs the model's initial weights to rewind to, and "
                         "this model has none (it was not trained by this run: a TorchScript "
                         "import or a cached model without its initial state); train the "
                         "baseline in the run"_s;
                return false;
            }
            return m_earlyBird ? earlyBird(context, error) : lottery(context, error);
        });
    }

private:
    bool lottery(TechniqueContext &context, QString *error)
    {
        const std::vector<pruning::Prunable> targets =
            pruning::prunableWeights(*context.model, m_includeLast);
        if (targets.empty()) {
            *error = u"model '%1' has no conv or linear weight to prune"_s.arg(
                context.model->name());
            return false;
        }
        NamedTensors rewindState = context.initialState;
        if (m_rewindEpoch > 0) {
            // Late rewinding: the weights after k epochs from the initial ones. Training them
            // again is part of this technique's cost.
            if (context.beginPhase)
                context.beginPhase(u"prepare:rewind-capture"_s);
            const NamedTensors trained = pruning::snapshotState(*context.model);
            if (!pruning::rewindTo(*context.model, context.initialState, error))
                return false;
            if (!pruning::fineTune(context, {}, m_rewindEpoch, 1.0,
                                   u"training %1 epochs from the initial weights (rewind point)"_s
                                       .arg(m_rewindEpoch),
                                   1000, error))
                return false;
            rewindState = pruning::snapshotState(*context.model);
            if (!pruning::rewindTo(*context.model, trained, error))
                return false;
        }

        pruning::Masks masks;
        QJsonArray distances;
        for (int round = 1; round <= m_rounds; ++round) {
            if (context.feedback && context.feedback->isCanceled()) {
                *error = u"cancelled"_s;
                return false;
            }
            if (context.beginPhase)
                context.beginPhase(u"prepare:round-%1"_s.arg(round));
            const double sparsity = 1.0 - std::pow(1.0 - m_pruneFraction, double(round));
            if (context.feedback)
                context.feedback->setProgress(double(round - 1) / double(m_rounds),
                                              u"lottery ticket: round %1/%2 (sparsity %3)"_s
                                                  .arg(round)
                                                  .arg(m_rounds)
                                                  .arg(sparsity, 0, 'f', 3));
            pruning::Masks next = pruning::sparsityMasks(targets, sparsity, m_global, masks);
            const double distance = masks.empty() ? 1.0 : pruning::maskDistance(masks, next);
            distances.append(distance);
            masks = std::move(next);
            // Rewind: the surviving weights get their values from the rewind point.
            if (!pruning::rewindTo(*context.model, rewindState, error))
                return false;
            pruning::applyMasks(*context.model, masks);
            pruning::reportSparsity(context, targets,
                                    u"round %1/%2: pruned to %3 and rewound to %4 (mask distance "
                                    "to the previous round %5)"_s.arg(round)
                                        .arg(m_rounds)
                                        .arg(sparsity, 0, 'f', 4)
                                        .arg(m_rewindEpoch == 0
                                                 ? u"the initial weights"_s
                                                 : u"epoch %1"_s.arg(m_rewindEpoch))
                                        .arg(distance, 0, 'f', 4),
                                    false);
            if (!pruning::fineTune(context, masks, m_retrainEpochs, m_lrFactor,
                                   u"retraining the ticket of round %1/%2"_s.arg(round).arg(
                                       m_rounds),
                                   quint64(round), error))
                return false;
        }
        if (context.log)
            context.log(u"lottery ticket: %1 rounds, mask distances between rounds %2"_s
                            .arg(m_rounds)
                            .arg(QString::fromUtf8(QJsonDocument(distances).toJson(
                                QJsonDocument::Compact))),
                        QJsonObject{{u"rounds"_s, m_rounds}, {u"mask_distances"_s, distances}});
        pruning::reportSparsity(context, targets, u"lottery ticket done"_s);
        if (context.metric)
            context.metric(u"rounds"_s, double(m_rounds), u"count"_s);
        return true;
    }

    bool earlyBird(TechniqueContext &context, QString *error)
    {
        if (!context.data || context.data->train.size() == 0) {
            *error = u"prune.lottery in early_bird mode trains from the initial weights and "
                     "needs the training split (context.data is empty)"_s;
            return false;
        }
        if (context.beginPhase)
            context.beginPhase(u"prepare:early-bird-search"_s);
        if (!pruning::rewindTo(*context.model, context.initialState, error))
            return false;

        Model *model = context.model.get();
        pruning::Masks previous;
        std::deque<double> window;
        QJsonArray distances;
        int foundAt = 0;
        TrainOptions options = context.training;
        options.epochs = m_ebMaxEpochs;
        options.seed = context.seed + 2000;
        options.label = u"early-bird search"_s;
        options.epochSubset = nullptr;
        const auto outer = options.onEpoch;
        options.onEpoch = [&, outer](const EpochStats &stats) {
            const bool goOn = outer ? outer(stats) : true;
            pruning::Masks current = pruning::sparsityMasks(
                pruning::prunableWeights(*model, m_includeLast), m_ebSparsity, m_global);
            if (!previous.empty()) {
                const double d = pruning::maskDistance(previous, current);
                distances.append(d);
                window.push_back(d);
                if (int(window.size()) > m_ebWindow)
                    window.pop_front();
                if (int(window.size()) == m_ebWindow &&
                    *std::max_element(window.begin(), window.end()) < m_ebThreshold) {
                    foundAt = stats.epoch;
                    return false;
                }
            }
            previous = std::move(current);
            return goOn;
        };
        Trainer trainer(options);
        const auto result = trainer.train(*model, context.data->train, context.feedback, error);
        if (!result)
            return false;
        if (result->canceled) {
            *error = u"cancelled"_s;
            return false;
        }
        const int searched = int(result->epochs.size());
        const QString found =
            foundAt > 0
                ? u"Early-Bird ticket drawn after epoch %1 of at most %2 (last %3 mask distances "
                  "below %4)"_s.arg(foundAt)
                      .arg(m_ebMaxEpochs)
                      .arg(m_ebWindow)
                      .arg(m_ebThreshold)
                : u"no Early-Bird ticket within %1 epochs (mask distance never stayed below %2 "
                  "for %3 epochs); using the mask of the last epoch"_s.arg(m_ebMaxEpochs)
                      .arg(m_ebThreshold)
                      .arg(m_ebWindow);
        if (context.log)
            context.log(found, QJsonObject{{u"found"_s, foundAt > 0},
                                           {u"epoch"_s, foundAt},
                                           {u"epochs_trained"_s, searched},
                                           {u"mask_distances"_s, distances},
                                           {u"threshold"_s, m_ebThreshold},
                                           {u"window"_s, m_ebWindow}});
        if (context.metric) {
            context.metric(u"early_bird_found"_s, foundAt > 0 ? 1.0 : 0.0, u"bool"_s);
            context.metric(u"early_bird_epochs"_s, double(searched), u"count"_s);
        }

        const std::vector<pruning::Prunable> targets =
            pruning::prunableWeights(*model, m_includeLast);
        const pruning::Masks masks = pruning::sparsityMasks(targets, m_ebSparsity, m_global);
        pruning::applyMasks(*model, masks);
        pruning::reportSparsity(context, targets, u"Early-Bird ticket pruned"_s,
                                m_retrainEpochs == 0);
        if (m_retrainEpochs > 0) {
            if (context.beginPhase)
                context.beginPhase(u"prepare:retrain"_s);
            if (!pruning::fineTune(context, masks, m_retrainEpochs, m_lrFactor,
                                   u"retraining the Early-Bird ticket"_s, 3000, error))
                return false;
            pruning::reportSparsity(context, targets, u"Early-Bird ticket retrained"_s);
        }
        return true;
    }

    bool m_earlyBird = false;
    int m_rounds = 3;
    double m_pruneFraction = 0.2;
    int m_retrainEpochs = 1;
    int m_rewindEpoch = 0;
    double m_lrFactor = 1.0;
    bool m_global = true;
    bool m_includeLast = true;
    double m_ebSparsity = 0.5;
    double m_ebThreshold = 0.1;
    int m_ebWindow = 5;
    int m_ebMaxEpochs = 20;
};

} // namespace

/// The plugin object: Qt creates one per library, the registry asks it for techniques.
class LotteryPruningPlugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "lottery.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        return std::make_unique<LotteryPruning>();
    }
};

} // namespace jb::plugins

#include "lottery.moc"
