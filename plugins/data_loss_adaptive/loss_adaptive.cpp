// SPDX-License-Identifier: GPL-3.0-or-later
// data.loss_adaptive: every k epochs scores the training rows by their current loss and trains
// on the highest-loss rows, with a constant or decreasing ratio (docs/techniques/
// data-selection.md).
#include "plugins/data_common/selection.h"
#include "plugins/data_common/selection_run.h"

#include "engine/technique.h"

#include <QObject>
#include <QtPlugin>

#include <numeric>

using namespace Qt::StringLiterals;

namespace jb::plugins {

namespace {

/// Runs on the runner's worker thread; one instance per run.
class LossAdaptiveTechnique final : public data::SelectionTechnique
{
public:
    bool configure(const QJsonObject &params, QString *error) override
    {
        const auto schedule = data::RatioSchedule::fromParams(params, error);
        if (!schedule)
            return false;
        m_schedule = *schedule;
        m_renewEvery = params.value(u"renew_every"_s).toInt();
        m_warmup = params.value(u"warmup_epochs"_s).toInt();
        return true;
    }

    bool train(TechniqueContext &context, QString *error) override
    {
        if (!checkContext(context, u"data.loss_adaptive"_s, error))
            return false;
        data::SelectionRun run(context, u"data.loss_adaptive"_s);
        const int64_t n = run.trainRows();
        const int epochs = context.training.epochs;
        std::vector<int64_t> all(static_cast<size_t>(n));
        std::iota(all.begin(), all.end(), 0);
        std::vector<double> losses;
        QString selectionError;
        int renewals = 0;

        TrainOptions o = data::selectionTrainOptions(context, u"data.loss_adaptive"_s);
        o.epochSubset = [&](int epoch) -> std::vector<int64_t> {
            if (epoch < m_warmup) {
                run.recordEpoch(epoch, epochs, all);
                return all;
            }
            if ((epoch - m_warmup) % m_renewEvery == 0) {
                run.beginScoring();
                auto scores =
                    data::scoreRows(*context.model, context.data->train, data::ScoreKind::Loss,
                                    context.training.batchSize, context.feedback, &selectionError);
                if (!scores) // the trainer sees the cancellation at its next batch
                    return selectionError == u"cancelled"_s ? all : std::vector<int64_t>();
                run.endScoring(n);
                losses = std::move(*scores);
                ++renewals;
                const double mean = std::accumulate(losses.begin(), losses.end(), 0.0) / double(n);
                if (context.log)
                    context.log(u"epoch %1: subset renewed from the current losses (mean %2)"_s
                                    .arg(epoch + 1)
                                    .arg(mean, 0, 'g', 4),
                                QJsonObject{{u"epoch"_s, epoch + 1}, {u"mean_loss"_s, mean}});
            }
            // Between renewals the ratio may fall: the highest of the last scored losses.
            std::vector<int64_t> rows =
                data::hardestRows(losses, data::subsetCount(n, m_schedule.at(epoch, epochs)));
            run.recordEpoch(epoch, epochs, rows);
            return rows;
        };
        if (!run.train(o, selectionError, error))
            return false;
        if (context.metric)
            context.metric(u"renewals"_s, double(renewals), u"count"_s);
        run.finish();
        return true;
    }

private:
    data::RatioSchedule m_schedule;
    int m_renewEvery = 1;
    int m_warmup = 1;
};

} // namespace

class LossAdaptivePlugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "loss_adaptive.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        return std::make_unique<LossAdaptiveTechnique>();
    }
};

} // namespace jb::plugins

#include "loss_adaptive.moc"
