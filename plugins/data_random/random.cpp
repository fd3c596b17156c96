// SPDX-License-Identifier: GPL-3.0-or-later
// data.random: trains on a random subset of the training rows, re-drawn every epoch (adaptive)
// or drawn once (fixed), at a constant or linearly decreasing ratio (docs/techniques/
// data-selection.md).
#include "plugins/data_common/selection.h"
#include "plugins/data_common/selection_run.h"

#include "engine/technique.h"

#include <QObject>
#include <QtPlugin>

#include <torch/torch.h>

using namespace Qt::StringLiterals;

namespace jb::plugins {

namespace {

/// Runs on the runner's worker thread; one instance per run.
class RandomSubsetTechnique final : public data::SelectionTechnique
{
public:
    bool configure(const QJsonObject &params, QString *error) override
    {
        const auto schedule = data::RatioSchedule::fromParams(params, error);
        if (!schedule)
            return false;
        m_schedule = *schedule;
        m_adaptive = params.value(u"mode"_s).toString() == u"adaptive"_s;
        m_stratified = params.value(u"stratified"_s).toBool();
        m_seedOffset = quint64(params.value(u"seed_offset"_s).toInteger());
        return true;
    }

    bool train(TechniqueContext &context, QString *error) override
    {
        if (!checkContext(context, u"data.random"_s, error))
            return false;
        data::SelectionRun run(context, u"data.random"_s);
        const Dataset &train = context.data->train;
        const int64_t n = train.size();
        const int epochs = context.training.epochs;
        const quint64 seed = context.seed + m_seedOffset;
        auto draw = [&](int64_t count, quint64 s) {
            return m_stratified ? data::stratifiedRandomRows(train.targets, count, s)
                                : data::randomRows(n, count, s);
        };
        // Fixed mode: one draw for the run; with a decreasing ratio an epoch keeps a seeded
        // random part of it (nested: a smaller part lies inside a larger one, unstratified).
        std::vector<int64_t> fixedOrder;
        if (!m_adaptive)
            fixedOrder = draw(data::subsetCount(n, m_schedule.start), seed);
        TrainOptions o = data::selectionTrainOptions(context, u"data.random"_s);
        o.epochSubset = [&](int epoch) {
            const int64_t k = data::subsetCount(n, m_schedule.at(epoch, epochs));
            std::vector<int64_t> rows;
            if (m_adaptive) {
                rows = draw(k, seed + quint64(epoch) * 7919);
            } else if (k == int64_t(fixedOrder.size())) {
                rows = fixedOrder;
            } else {
                // A stratified prefix keeps the class shares: re-stratify within the subset.
                const std::vector<int64_t> keep =
                    m_stratified
                        ? data::stratifiedRandomRows(
                              train.targets.index_select(
                                  0, torch::tensor(fixedOrder, torch::TensorOptions(torch::kLong))),
                              k, seed + 1)
                        : data::randomRows(int64_t(fixedOrder.size()), k, seed + 1);
                for (int64_t i : keep)
                    rows.push_back(fixedOrder[size_t(i)]);
            }
            run.recordEpoch(epoch, epochs, rows);
            return rows;
        };
        if (!run.train(o, QString(), error))
            return false;
        run.finish();
        return true;
    }

private:
    data::RatioSchedule m_schedule;
    bool m_adaptive = true;
    bool m_stratified = false;
    quint64 m_seedOffset = 0;
};

} // namespace

class RandomSubsetPlugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "random.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        return std::make_unique<RandomSubsetTechnique>();
    }
};

} // namespace jb::plugins

#include "random.moc"
