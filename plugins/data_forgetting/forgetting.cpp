// SPDX-License-Identifier: GPL-3.0-or-later
// data.forgetting: counts forgetting events per training row during a scoring run of k epochs
// and trains on the most-forgotten rows (docs/techniques/data-selection.md).
#include "plugins/data_common/selection.h"
#include "plugins/data_common/selection_run.h"

#include "engine/technique.h"

#include <QObject>
#include <QtPlugin>

#include <torch/torch.h>

#include <numeric>

using namespace Qt::StringLiterals;

namespace jb::plugins {

namespace {

/// Runs on the runner's worker thread; one instance per run.
class ForgettingTechnique final : public data::SelectionTechnique
{
public:
    bool configure(const QJsonObject &params, QString *error) override
    {
        Q_UNUSED(error);
        m_scoreEpochs = params.value(u"score_epochs"_s).toInt();
        m_separate = params.value(u"score_run"_s).toString() == u"separate"_s;
        m_ratio = params.value(u"ratio"_s).toDouble();
        return true;
    }

    bool train(TechniqueContext &context, QString *error) override
    {
        if (!checkContext(context, u"data.forgetting"_s, error))
            return false;
        const int epochs = context.training.epochs;
        if (!m_separate && !checkScoreEpochs(m_scoreEpochs, epochs, error))
            return false;
        data::SelectionRun run(context, u"data.forgetting"_s);
        const int64_t n = run.trainRows();
        std::vector<int64_t> all(static_cast<size_t>(n));
        std::iota(all.begin(), all.end(), 0);
        data::ForgettingCounter counter(n);
        auto count = [&counter](const BatchContext &b) {
            counter.record(b.indices, b.logits.argmax(1).eq(b.targets));
        };
        std::vector<int64_t> subset;

        if (m_separate) {
            run.beginScoring();
            QString note;
            std::unique_ptr<Model> model = data::scoringModel(context, 0, &note, error);
            if (!model)
                return false;
            TrainOptions o = data::selectionTrainOptions(context, u"data.forgetting: scoring"_s);
            o.epochs = m_scoreEpochs;
            o.seed = context.training.seed + 1000;
            o.afterStep = count;
            Trainer trainer(o);
            const auto r = trainer.train(*model, context.data->train, context.feedback, error);
            if (!r)
                return false;
            if (r->canceled) {
                *error = u"cancelled"_s;
                return false;
            }
            run.endScoring(r->samplesSeen);
            subset = select(context, counter);
        }
        TrainOptions o = data::selectionTrainOptions(context, u"data.forgetting"_s);
        if (!m_separate) {
            // The run's own first epochs are the scoring run: training on all rows, counted.
            run.beginScoring();
            o.afterStep = [&](const BatchContext &b) {
                if (b.epoch < m_scoreEpochs)
                    count(b);
            };
        }
        o.epochSubset = [&](int epoch) -> std::vector<int64_t> {
            if (!m_separate && epoch == m_scoreEpochs) {
                run.endScoring(int64_t(m_scoreEpochs) * n);
                subset = select(context, counter);
            }
            const std::vector<int64_t> &rows = subset.empty() ? all : subset;
            run.recordEpoch(epoch, epochs, rows);
            return rows;
        };
        if (!run.train(o, QString(), error))
            return false;
        run.finish();
        return true;
    }

private:
    std::vector<int64_t> select(TechniqueContext &context, const data::ForgettingCounter &c)
    {
        const std::vector<double> scores = c.scores();
        const std::vector<int64_t> rows =
            data::hardestRows(scores, data::subsetCount(c.size(), m_ratio));
        int64_t events = 0;
        for (int64_t i = 0; i < c.size(); ++i)
            events += c.events(i);
        if (context.log)
            context.log(u"forgetting events: %1 in total; %2 rows unforgettable, %3 never "
                        "learned (ranked first); keeping the %4 most-forgotten rows"_s.arg(events)
                            .arg(c.unforgettable())
                            .arg(c.neverLearned())
                            .arg(qint64(rows.size())),
                        QJsonObject{{u"events"_s, qint64(events)},
                                    {u"unforgettable"_s, qint64(c.unforgettable())},
                                    {u"never_learned"_s, qint64(c.neverLearned())},
                                    {u"kept"_s, qint64(rows.size())}});
        if (context.metric) {
            context.metric(u"unforgettable_rows"_s, double(c.unforgettable()), u"rows"_s);
            context.metric(u"never_learned_rows"_s, double(c.neverLearned()), u"rows"_s);
        }
        return rows;
    }

    int m_scoreEpochs = 2;
    bool m_separate = true;
    double m_ratio = 0.5;
};

} // namespace

class ForgettingPlugin : public QObject, public TechniqueFactory
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID JB_TECHNIQUE_IID FILE "forgetting.json")
    Q_INTERFACES(jb::TechniqueFactory)

public:
    std::unique_ptr<Technique> create() const override
    {
        return std::make_unique<ForgettingTechnique>();
    }
};

} // namespace jb::plugins

#include "forgetting.moc"
